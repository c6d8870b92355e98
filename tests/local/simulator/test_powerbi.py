"""The simulated Power BI ExportTo API over real HTTP: the Export shape, the opaque id that only path escaping
keeps whole, 202-then-200 status with Retry-After, Failed with and without Retry-After, the file on the API origin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from local.simulator import (
    FIXTURE_INTUNE_TOKEN,
    FIXTURE_POWERBI_GROUP,
    FIXTURE_POWERBI_REPORT,
    FIXTURE_POWERBI_TOKEN,
    Simulator,
)
from tests.local.simulator.drivers import bearer, segment

pytestmark = pytest.mark.integration
AUTH = bearer(FIXTURE_POWERBI_TOKEN)
SENTINEL = "0001-01-01T00:00:00Z"


def report_url(sim: Simulator, group: str = FIXTURE_POWERBI_GROUP) -> str:
    return f"{sim.powerbi_base_url}/groups/{group}/reports/{FIXTURE_POWERBI_REPORT}"


def create(sim: Simulator, fmt: str = "PDF") -> dict[str, object]:
    response = httpx.post(f"{report_url(sim)}/ExportTo", json={"format": fmt}, headers=AUTH)
    assert response.status_code == 202
    body: dict[str, object] = response.json()
    return body


def status(sim: Simulator, export_id: str) -> httpx.Response:
    return httpx.get(f"{report_url(sim)}/exports/{segment(export_id)}", headers=AUTH)


def test_create_answers_202_with_an_export_whose_id_needs_path_escaping(simulator: Simulator) -> None:
    export = create(simulator)
    assert set(export) >= {"id", "status", "percentComplete", "expirationTime", "resourceLocation"}
    assert "ResourceFileExtension" in export
    export_id = str(export["id"])
    assert "/" in export_id
    assert export_id.endswith("=")
    assert (export["status"], export["percentComplete"], export["expirationTime"]) == ("NotStarted", 0, SENTINEL)


def test_an_id_sent_unescaped_is_not_found(simulator: Simulator) -> None:
    export_id = str(create(simulator)["id"])
    raw = httpx.get(f"{report_url(simulator)}/exports/{export_id}", headers=AUTH)
    assert raw.status_code == 404


def test_status_is_202_with_retry_after_while_running_then_200_succeeded(simulator: Simulator) -> None:
    simulator.config.powerbi_retry_after_s = 3
    export_id = str(create(simulator)["id"])
    running = status(simulator, export_id)
    done = status(simulator, export_id)
    assert (running.status_code, running.json()["status"], running.headers["Retry-After"]) == (202, "Running", "3")
    assert running.json()["expirationTime"] == SENTINEL
    assert (done.status_code, done.json()["status"]) == (200, "Succeeded")
    assert "Retry-After" not in done.headers
    body = done.json()
    assert (body["percentComplete"], body["ResourceFileExtension"]) == (100, ".pdf")
    expires = datetime.fromisoformat(body["expirationTime"].replace("Z", "+00:00"))
    assert timedelta(hours=23, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=24)


def test_the_file_is_on_the_api_origin_and_needs_the_bearer(simulator: Simulator) -> None:
    export_id = str(create(simulator)["id"])
    status(simulator, export_id)
    location = str(status(simulator, export_id).json()["resourceLocation"])
    assert location.startswith(simulator.base_url)
    assert location.endswith(f"/exports/{segment(export_id)}/file")
    anonymous = httpx.get(location)
    with_token = httpx.get(location, headers=AUTH)
    assert anonymous.status_code == 401
    assert with_token.status_code == 200
    assert with_token.headers["Content-Type"] == "application/pdf"
    assert with_token.content.startswith(b"%PDF-")


def test_a_csv_export_is_a_csv_file(simulator: Simulator) -> None:
    export_id = str(create(simulator, "CSV")["id"])
    status(simulator, export_id)
    body = status(simulator, export_id).json()
    content = httpx.get(str(body["resourceLocation"]), headers=AUTH)
    assert body["ResourceFileExtension"] == ".csv"
    assert content.content.startswith(b"Region,Product,Month,Revenue\n")


def test_a_busy_failure_carries_retry_after_and_a_permanent_one_does_not(simulator: Simulator) -> None:
    simulator.config.powerbi_busy_failures = 1
    busy = str(create(simulator)["id"])
    simulator.config.fail_jobs = 1
    permanent = str(create(simulator)["id"])
    for export_id in (busy, permanent):
        status(simulator, export_id)
    busy_end, permanent_end = status(simulator, busy), status(simulator, permanent)
    assert (busy_end.status_code, busy_end.json()["status"], busy_end.headers["Retry-After"]) == (200, "Failed", "30")
    assert (permanent_end.status_code, permanent_end.json()["status"]) == (200, "Failed")
    assert "Retry-After" not in permanent_end.headers
    assert busy_end.json()["resourceLocation"] is None


def test_the_file_of_an_unfinished_export_is_refused(simulator: Simulator) -> None:
    export_id = str(create(simulator)["id"])
    refused = httpx.get(f"{report_url(simulator)}/exports/{segment(export_id)}/file", headers=AUTH)
    assert refused.status_code == 400


@pytest.mark.parametrize("body", [{}, {"format": "GIF"}, {"format": "PDF", "powerBIReportConfiguration": "x"}])
def test_a_bad_create_is_400(simulator: Simulator, body: dict[str, object]) -> None:
    response = httpx.post(f"{report_url(simulator)}/ExportTo", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRequest"


def test_a_report_outside_the_workspace_is_404(simulator: Simulator) -> None:
    other = report_url(simulator, group="00000000-0000-0000-0000-000000000001")
    response = httpx.post(f"{other}/ExportTo", json={"format": "PDF"}, headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "PowerBIEntityNotFound"


def test_a_token_for_another_api_is_refused(simulator: Simulator) -> None:
    response = httpx.post(
        f"{report_url(simulator)}/ExportTo", json={"format": "PDF"}, headers=bearer(FIXTURE_INTUNE_TOKEN)
    )
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers
