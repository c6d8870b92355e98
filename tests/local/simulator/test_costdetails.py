"""The simulated Azure cost details report API over real HTTP: the empty 202 with a same-origin Location, 204 no
data, empty 202s while running, the 200 manifest with 1..N CSV parts on the blob origin read without a token."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

from local.simulator import FIXTURE_COST_SCOPE, FIXTURE_COST_TOKEN, Simulator
from tests.local.simulator.drivers import COST_VERSION, bearer

pytestmark = pytest.mark.integration
AUTH = bearer(FIXTURE_COST_TOKEN)
PERIOD = {"metric": "ActualCost", "timePeriod": {"start": "2026-10-01", "end": "2026-10-31"}}


def create_url(sim: Simulator) -> str:
    return f"{sim.cost_base_url}/{FIXTURE_COST_SCOPE}/providers/Microsoft.CostManagement/generateCostDetailsReport"


def create(sim: Simulator, body: dict[str, object] | None = None, version: str | None = COST_VERSION) -> httpx.Response:
    params = {"api-version": version} if version else {}
    return httpx.post(create_url(sim), params=params, json=PERIOD if body is None else body, headers=AUTH)


def test_create_is_an_empty_202_whose_location_is_a_full_url_on_the_same_origin(simulator: Simulator) -> None:
    simulator.config.cost_retry_after_s = 20
    created = create(simulator)
    assert created.status_code == 202
    assert created.content == b""
    assert created.headers["Retry-After"] == "20"
    location = httpx.URL(created.headers["Location"])
    assert str(location).startswith(f"{simulator.base_url}/{FIXTURE_COST_SCOPE}/providers/")
    assert "/costDetailsOperationResults/" in location.path
    assert location.params["api-version"] == COST_VERSION


def test_polling_is_an_empty_202_with_retry_after_until_a_200_manifest(simulator: Simulator) -> None:
    location = create(simulator).headers["Location"]
    running = httpx.get(location, headers=AUTH)
    done = httpx.get(location, headers=AUTH)
    assert (running.status_code, running.content, running.headers["Retry-After"]) == (202, b"", "1")
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "Completed"
    assert body["validTill"].endswith("Z")
    assert "error" not in body


def completed(sim: Simulator) -> dict[str, object]:
    location = create(sim).headers["Location"]
    httpx.get(location, headers=AUTH)
    body: dict[str, object] = httpx.get(location, headers=AUTH).json()
    return body


def test_parts_written_ahead_to_files_are_the_bytes_it_generates_and_two_jobs_are_kept(
    simulator: Simulator, tmp_path: Path
) -> None:
    simulator.config.cost_parts = 3
    simulator.config.content_size = 300_000
    simulator.config.content_file_dir = str(tmp_path)
    manifests = [completed(simulator)["manifest"] for _ in range(3)]  # three jobs: only two jobs' folders kept
    assert len(list(tmp_path.glob("costdetails-*"))) == 2
    assert list(tmp_path.glob("*/*.partial")) == []
    manifest = manifests[-1]
    assert isinstance(manifest, dict)
    links = [blob["blobLink"] for blob in manifest["blobs"]]
    from_files = [httpx.get(link) for link in links]
    simulator.config.content_file_dir = None  # the same links, generated as they are sent
    generated = [httpx.get(link).content for link in links]
    assert [r.content for r in from_files] == generated
    assert [int(r.headers["Content-Length"]) for r in from_files] == [b["byteCount"] for b in manifest["blobs"]]
    assert sum(len(data) for data in generated) >= 300_000


@pytest.mark.parametrize("parts", [1, 3])
def test_the_manifest_lists_every_part_on_the_blob_origin_each_a_csv_with_its_own_header(
    simulator: Simulator, parts: int
) -> None:
    simulator.config.cost_parts = parts
    simulator.config.content_size = 30_000
    manifest = completed(simulator)["manifest"]
    assert isinstance(manifest, dict)
    assert manifest["blobCount"] == len(manifest["blobs"]) == parts
    rows: list[list[str]] = []
    for blob in manifest["blobs"]:
        assert blob["blobLink"].startswith(simulator.blob_base_url)
        response = httpx.get(blob["blobLink"])
        assert response.status_code == 200
        assert len(response.content) == blob["byteCount"]
        table = list(csv.reader(io.StringIO(response.text)))
        assert table[0][:2] == ["InvoiceSectionName", "AccountName"]
        rows += table[1:]
    assert manifest["byteCount"] == sum(b["byteCount"] for b in manifest["blobs"])
    numbers = [int(row[0].split("-")[1]) for row in rows]
    assert numbers == list(range(len(numbers)))  # the parts together hold every row once, in order
    assert all(not r.had_authorization for r in simulator.stats.requests if r.origin == "blob")


def test_no_data_on_create_is_204_and_no_job(simulator: Simulator) -> None:
    simulator.config.cost_no_data_on_create = True
    response = create(simulator)
    assert (response.status_code, response.content) == (204, b"")
    assert "Location" not in response.headers
    assert simulator.stats.jobs_created["costdetails"] == 0


def test_no_data_found_is_a_200_with_an_empty_manifest(simulator: Simulator) -> None:
    simulator.config.cost_no_data_on_status = True
    body = completed(simulator)
    assert body["status"] == "NoDataFound"
    assert body["manifest"] == {
        "manifestVersion": "2024-08-01",
        "dataFormat": "Csv",
        "byteCount": 0,
        "blobCount": 0,
        "blobs": [],
    }


def test_a_failed_report_is_a_200_with_an_error(simulator: Simulator) -> None:
    simulator.config.fail_jobs = 1
    body = completed(simulator)
    assert body["status"] == "Failed"
    assert isinstance(body["error"], dict)
    assert body["error"]["message"]
    assert "manifest" not in body


def test_a_blob_link_with_a_bearer_is_refused_and_logged(simulator: Simulator) -> None:
    manifest = completed(simulator)["manifest"]
    assert isinstance(manifest, dict)
    assert httpx.get(manifest["blobs"][0]["blobLink"], headers=AUTH).status_code == 403
    assert [r.had_authorization for r in simulator.stats.requests_for("cost.download")] == [True]


@pytest.mark.parametrize(
    ("body", "version", "code"),
    [
        (PERIOD, None, "MissingApiVersionParameter"),
        (PERIOD, "2019-01-01", "InvalidApiVersionParameter"),
        ({**PERIOD, "invoiceId": "G123"}, COST_VERSION, "BadRequest"),
        ({"metric": "ActualCost"}, COST_VERSION, "BadRequest"),
        ({"timePeriod": {"start": "2026-01-01", "end": "2026-06-30"}}, COST_VERSION, "BadRequest"),
        ({**PERIOD, "metric": "Usage"}, COST_VERSION, "BadRequest"),
    ],
)
def test_a_bad_create_is_400_with_arms_error_code(
    simulator: Simulator, body: dict[str, object], version: str | None, code: str
) -> None:
    response = create(simulator, body, version)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_an_unknown_operation_is_404(simulator: Simulator) -> None:
    provider = f"{simulator.cost_base_url}/{FIXTURE_COST_SCOPE}/providers/Microsoft.CostManagement"
    url = f"{provider}/costDetailsOperationResults/x"
    assert httpx.get(url, params={"api-version": COST_VERSION}, headers=AUTH).status_code == 404
