"""The simulated Intune reports export jobs API (and Entra's token endpoint, and the blob origin) over real HTTP:
the documented shapes, the sentinel expiry, the zip on another origin that refuses a bearer, cleanup."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from local.simulator import (
    FIXTURE_ENTRA_CLIENT_ID,
    FIXTURE_ENTRA_CLIENT_SECRET,
    FIXTURE_INTUNE_TOKEN,
    Simulator,
)
from local.simulator.content import seed_of, table_csv, table_rows_for
from tests.local.simulator.drivers import bearer, segment

pytestmark = pytest.mark.integration
AUTH = bearer(FIXTURE_INTUNE_TOKEN)
SENTINEL = "0001-01-01T00:00:00Z"


def jobs_url(sim: Simulator) -> str:
    return f"{sim.intune_base_url}/deviceManagement/reports/exportJobs"


def create(sim: Simulator, **body: object) -> httpx.Response:
    payload = {"reportName": "Devices", "select": ["DeviceName", "OSVersion"], **body}
    return httpx.post(jobs_url(sim), json=payload, headers=AUTH)


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_create_answers_201_with_the_entity_not_started_without_url_and_the_sentinel_expiry(
    simulator: Simulator,
) -> None:
    created = create(simulator, filter="(OwnerType eq '1')")
    assert created.status_code == 201
    entity = created.json()
    assert entity["status"] == "notStarted"
    assert entity["url"] is None
    assert entity["expirationDateTime"] == SENTINEL
    assert entity["id"].startswith("Devices_")
    assert (entity["reportName"], entity["select"], entity["format"]) == ("Devices", ["DeviceName", "OSVersion"], "csv")


def test_the_status_goes_in_progress_then_completed_with_a_sas_url_on_another_origin_and_no_retry_after(
    simulator: Simulator,
) -> None:
    job_id = create(simulator).json()["id"]
    first = httpx.get(f"{jobs_url(simulator)}/{segment(job_id)}", headers=AUTH)
    second = httpx.get(f"{jobs_url(simulator)}/{segment(job_id)}", headers=AUTH)
    assert first.json()["status"] == "inProgress"
    assert first.json()["expirationDateTime"] == SENTINEL
    assert "Retry-After" not in first.headers
    assert "Retry-After" not in second.headers
    done = second.json()
    assert done["status"] == "completed"
    url = httpx.URL(done["url"])
    assert f"{url.scheme}://{url.host}:{url.port}" == simulator.blob_base_url != simulator.base_url
    assert {"sv", "se", "sr", "sp", "sig"} <= set(url.params.keys())
    expires = parse(done["expirationDateTime"])
    assert timedelta(hours=5, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=6)


def finished(sim: Simulator, **body: object) -> dict[str, object]:
    job_id = create(sim, **body).json()["id"]
    for _ in range(2):
        entity: dict[str, object] = httpx.get(f"{jobs_url(sim)}/{segment(job_id)}", headers=AUTH).json()
    return entity


def test_the_result_is_a_zip_holding_one_csv_with_the_selected_columns_read_without_a_token(
    simulator: Simulator,
) -> None:
    simulator.config.content_size = 10_000
    entity = finished(simulator)
    response = httpx.get(str(entity["url"]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    (member,) = archive.namelist()
    assert member == f"{entity['id']}.csv"
    columns = ["DeviceName", "OSVersion"]
    seed = seed_of(str(entity["id"]))
    assert archive.read(member) == table_csv(seed, columns, 0, table_rows_for(seed, columns, 10_000))
    assert [r.had_authorization for r in simulator.stats.requests_for("intune.download")] == [False]


def test_the_blob_origin_refuses_a_bearer_with_403_and_logs_that_one_was_sent(simulator: Simulator) -> None:
    entity = finished(simulator)
    leaked = httpx.get(str(entity["url"]), headers=AUTH)
    assert leaked.status_code == 403
    assert leaked.headers["x-ms-error-code"] == "AuthenticationFailed"
    (record,) = simulator.stats.requests_for("intune.download")
    assert (record.origin, record.had_authorization) == ("blob", True)


def test_a_tampered_sas_signature_is_refused(simulator: Simulator) -> None:
    url = httpx.URL(str(finished(simulator)["url"]))
    tampered = url.copy_set_param("se", "2099-01-01T00:00:00Z")
    assert httpx.get(tampered).status_code == 403


def test_a_json_report_is_a_zip_holding_one_json_file(simulator: Simulator) -> None:
    entity = finished(simulator, format="json")
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(str(entity["url"])).content))
    assert archive.namelist() == [f"{entity['id']}.json"]


def test_unknown_is_a_status_before_the_job_runs_when_switched_on(simulator: Simulator) -> None:
    simulator.config.intune_unknown_polls = 1
    job_id = create(simulator).json()["id"]
    statuses = [httpx.get(f"{jobs_url(simulator)}/{segment(job_id)}", headers=AUTH).json()["status"] for _ in range(2)]
    assert statuses == ["unknown", "completed"]


def test_a_failed_job_has_no_url_and_keeps_the_sentinel(simulator: Simulator) -> None:
    simulator.config.fail_jobs = 1
    entity = finished(simulator)
    assert (entity["status"], entity["url"], entity["expirationDateTime"]) == ("failed", None, SENTINEL)


def test_a_job_that_never_finishes_stays_in_progress(simulator: Simulator) -> None:
    simulator.config.never_finish = True
    job_id = create(simulator).json()["id"]
    statuses = {httpx.get(f"{jobs_url(simulator)}/{segment(job_id)}", headers=AUTH).json()["status"] for _ in range(5)}
    assert statuses == {"inProgress"}


def test_delete_is_recorded_and_the_job_is_gone_after_it(simulator: Simulator) -> None:
    job_id = str(finished(simulator)["id"])
    deleted = httpx.delete(f"{jobs_url(simulator)}/{segment(job_id)}", headers=AUTH)
    assert deleted.status_code == 204
    assert [r.status for r in simulator.stats.requests_for("intune.delete")] == [204]
    assert httpx.get(f"{jobs_url(simulator)}/{segment(job_id)}", headers=AUTH).status_code == 404


def test_there_is_no_list_endpoint(simulator: Simulator) -> None:
    listed = httpx.get(jobs_url(simulator), headers=AUTH)
    assert listed.status_code == 405
    assert "value" not in listed.json()


@pytest.mark.parametrize(
    "body",
    [
        {"reportName": "NoSuchReport"},
        {"reportName": "Devices", "select": "DeviceName"},
        {"reportName": "Devices", "format": "xml"},
    ],
)
def test_a_bad_create_is_400_and_creates_nothing(simulator: Simulator, body: dict[str, object]) -> None:
    response = httpx.post(jobs_url(simulator), json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
    assert simulator.stats.jobs_created["intune"] == 0


def entra_token(sim: Simulator, scope: str, secret: str = FIXTURE_ENTRA_CLIENT_SECRET) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": FIXTURE_ENTRA_CLIENT_ID,
        "client_secret": secret,
        "scope": scope,
    }
    return httpx.post(sim.entra_token_url(), data=form)


def test_an_entra_token_for_graph_is_accepted_and_one_for_another_resource_is_not(simulator: Simulator) -> None:
    graph = entra_token(simulator, "https://graph.microsoft.com/.default").json()
    assert graph["token_type"] == "Bearer"
    assert graph["expires_in"] > 0
    arm = entra_token(simulator, "https://management.azure.com/.default").json()["access_token"]
    ok = httpx.post(jobs_url(simulator), json={"reportName": "Devices"}, headers=bearer(graph["access_token"]))
    wrong = httpx.post(jobs_url(simulator), json={"reportName": "Devices"}, headers=bearer(arm))
    assert (ok.status_code, wrong.status_code) == (201, 401)


def test_an_app_without_an_intune_role_is_403(simulator: Simulator) -> None:
    simulator.config.entra_clients[FIXTURE_ENTRA_CLIENT_ID]["roles"]["https://graph.microsoft.com"] = []
    token = entra_token(simulator, "https://graph.microsoft.com/.default").json()["access_token"]
    assert httpx.post(jobs_url(simulator), json={"reportName": "Devices"}, headers=bearer(token)).status_code == 403


def test_entra_refuses_a_wrong_secret_and_an_unknown_scope_in_its_own_error_shape(simulator: Simulator) -> None:
    wrong = entra_token(simulator, "https://graph.microsoft.com/.default", secret="nope")
    scope = entra_token(simulator, "https://example.invalid/.default")
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert (scope.status_code, scope.json()["error"]) == (400, "invalid_scope")
    assert wrong.json()["error_codes"] == [7000215]


def test_an_issued_token_expires_mid_poll_when_told(simulator: Simulator) -> None:
    token = entra_token(simulator, "https://graph.microsoft.com/.default").json()["access_token"]
    job_id = httpx.post(jobs_url(simulator), json={"reportName": "Devices"}, headers=bearer(token)).json()["id"]
    simulator.expire_tokens()
    expired = httpx.get(f"{jobs_url(simulator)}/{segment(job_id)}", headers=bearer(token))
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "InvalidAuthenticationToken"
