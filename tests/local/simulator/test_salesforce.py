"""The simulated Salesforce Bulk API 2.0 query jobs over real HTTP: the token response's instance_url, the job
states with no poll hint, CSV pages chained by Sforce-Locator up to the literal `null`, 409 for another API
version, abort, delete, and jobs gone after their retention."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

from local.simulator import (
    FIXTURE_SALESFORCE_CLIENT_ID,
    FIXTURE_SALESFORCE_CLIENT_SECRET,
    FIXTURE_SALESFORCE_TOKEN,
    Simulator,
)
from tests.local.simulator.drivers import SF_VERSION, bearer

pytestmark = pytest.mark.integration
AUTH = bearer(FIXTURE_SALESFORCE_TOKEN)
QUERY = {"operation": "query", "query": "SELECT Id, Name, Industry FROM Account"}


def jobs_url(sim: Simulator, version: str = SF_VERSION) -> str:
    return f"{sim.salesforce_login_url}/services/data/{version}/jobs/query"


def token(sim: Simulator, secret: str = FIXTURE_SALESFORCE_CLIENT_SECRET) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": FIXTURE_SALESFORCE_CLIENT_ID, "client_secret": secret}
    return httpx.post(sim.salesforce_token_url, data=form)


def create(sim: Simulator, headers: dict[str, str] = AUTH) -> dict[str, object]:
    response = httpx.post(jobs_url(sim), json=QUERY, headers=headers)
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def poll(sim: Simulator, job_id: object) -> httpx.Response:
    return httpx.get(f"{jobs_url(sim)}/{job_id}", headers=AUTH)


def test_the_token_response_names_this_simulator_as_the_instance(simulator: Simulator) -> None:
    body = token(simulator).json()
    assert body["instance_url"] == simulator.base_url
    assert body["token_type"] == "Bearer"
    assert body["issued_at"].isdigit()
    job = create(simulator, bearer(body["access_token"]))
    assert job["state"] == "UploadComplete"


def test_the_instance_url_can_be_switched_to_test_a_clients_host_check(simulator: Simulator) -> None:
    simulator.config.salesforce_instance_url = "https://attacker.invalid"
    assert token(simulator).json()["instance_url"] == "https://attacker.invalid"


def test_a_wrong_secret_is_400_invalid_client(simulator: Simulator) -> None:
    response = token(simulator, "nope")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_client")


def test_create_answers_200_upload_complete_and_polls_carry_no_hint(simulator: Simulator) -> None:
    job = create(simulator)
    assert (job["state"], job["apiVersion"], job["object"], job["contentType"]) == (
        "UploadComplete",
        62.0,
        "Account",
        "CSV",
    )
    first, second = poll(simulator, job["id"]), poll(simulator, job["id"])
    assert [first.json()["state"], second.json()["state"]] == ["InProgress", "JobComplete"]
    assert "Retry-After" not in first.headers
    assert second.json()["numberRecordsProcessed"] == 25


def completed(sim: Simulator) -> str:
    job_id = str(create(sim)["id"])
    poll(sim, job_id)
    assert poll(sim, job_id).json()["state"] == "JobComplete"
    return job_id


def test_results_are_csv_pages_chained_by_locator_up_to_the_literal_null(simulator: Simulator) -> None:
    job_id = completed(simulator)
    locator, pages, rows = "", [], []
    while locator != "null":
        params = {"maxRecords": "10", **({"locator": locator} if locator else {})}
        page = httpx.get(f"{jobs_url(simulator)}/{job_id}/results", params=params, headers=AUTH)
        assert page.status_code == 200
        assert page.headers["Content-Type"].startswith("text/csv")
        table = list(csv.reader(io.StringIO(page.text)))
        assert table[0] == ["Id", "Name", "Industry"]
        assert int(page.headers["Sforce-NumberOfRecords"]) == len(table) - 1
        pages.append(len(table) - 1)
        rows += table[1:]
        locator = page.headers["Sforce-Locator"]
    assert pages == [10, 10, 5]
    assert [int(row[0].split("-")[1]) for row in rows] == list(range(25))


def test_without_max_records_the_default_page_size_applies(simulator: Simulator) -> None:
    simulator.config.salesforce_page_records = 30
    page = httpx.get(f"{jobs_url(simulator)}/{completed(simulator)}/results", headers=AUTH)
    assert (page.headers["Sforce-NumberOfRecords"], page.headers["Sforce-Locator"]) == ("25", "null")


def test_a_page_is_gzip_encoded_when_the_client_accepts_gzip_and_plain_otherwise(simulator: Simulator) -> None:
    url = f"{jobs_url(simulator)}/{completed(simulator)}/results"
    zipped = httpx.get(url, headers={**AUTH, "Accept-Encoding": "gzip"})
    plain = httpx.get(url, headers={**AUTH, "Accept-Encoding": "identity"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert zipped.text == plain.text
    assert zipped.text.startswith("Id,Name,Industry\n")


def test_pages_written_ahead_to_files_are_the_bytes_it_generates_still_chunked(
    simulator: Simulator, tmp_path: Path
) -> None:
    simulator.config.salesforce_records, simulator.config.salesforce_page_records = 2500, 1000
    simulator.config.content_file_dir = str(tmp_path)
    job_id = completed(simulator)

    def pages(encoding: str) -> list[httpx.Response]:
        locator, read = "", []
        with httpx.Client(headers={**AUTH, "Accept-Encoding": encoding}) as client:
            while locator != "null":
                params = {"locator": locator} if locator else {}
                with client.stream("GET", f"{jobs_url(simulator)}/{job_id}/results", params=params) as page:
                    page.read()
                read.append(page)
                locator = page.headers["Sforce-Locator"]
        return read

    from_files = {encoding: pages(encoding) for encoding in ("gzip", "identity")}
    assert len(list(tmp_path.glob("salesforce-*/page-*"))) == 6  # three pages, each plain and gzipped
    simulator.config.content_file_dir = None
    for encoding, served in from_files.items():
        generated = pages(encoding)
        assert [p.headers["Sforce-NumberOfRecords"] for p in served] == ["1000", "1000", "500"]
        assert [p.content for p in served] == [p.content for p in generated]
        for page, twin in zip(served, generated, strict=True):
            assert page.headers["Transfer-Encoding"] == twin.headers["Transfer-Encoding"] == "chunked"
            assert page.headers.get("Content-Encoding") == twin.headers.get("Content-Encoding")
    assert from_files["gzip"][0].headers["Content-Encoding"] == "gzip"


def test_results_read_with_another_api_version_are_409(simulator: Simulator) -> None:
    job_id = completed(simulator)
    response = httpx.get(f"{jobs_url(simulator, 'v61.0')}/{job_id}/results", headers=AUTH)
    assert response.status_code == 409
    assert response.json()[0]["errorCode"]


def test_results_of_an_unfinished_job_or_with_a_bad_locator_are_400(simulator: Simulator) -> None:
    job_id = str(create(simulator)["id"])
    assert httpx.get(f"{jobs_url(simulator)}/{job_id}/results", headers=AUTH).status_code == 400
    poll(simulator, job_id)
    poll(simulator, job_id)
    bad = httpx.get(f"{jobs_url(simulator)}/{job_id}/results", params={"locator": "!!"}, headers=AUTH)
    assert bad.status_code == 400


def test_a_failed_job_says_why(simulator: Simulator) -> None:
    simulator.config.fail_jobs = 1
    job_id = create(simulator)["id"]
    poll(simulator, job_id)
    body = poll(simulator, job_id).json()
    assert body["state"] == "Failed"
    assert "INVALID_FIELD" in body["errorMessage"]


def test_abort_is_recorded_and_the_job_stays_aborted(simulator: Simulator) -> None:
    job_id = create(simulator)["id"]
    poll(simulator, job_id)
    aborted = httpx.patch(f"{jobs_url(simulator)}/{job_id}", json={"state": "Aborted"}, headers=AUTH)
    assert (aborted.status_code, aborted.json()["state"]) == (200, "Aborted")
    assert poll(simulator, job_id).json()["state"] == "Aborted"
    assert [r.method for r in simulator.stats.requests_for("sf.abort")] == ["PATCH"]
    again = httpx.patch(f"{jobs_url(simulator)}/{job_id}", json={"state": "Aborted"}, headers=AUTH)
    assert again.status_code == 400


def test_delete_is_recorded_and_the_job_is_gone_after_it(simulator: Simulator) -> None:
    job_id = completed(simulator)
    deleted = httpx.delete(f"{jobs_url(simulator)}/{job_id}", headers=AUTH)
    assert deleted.status_code == 204
    assert [r.status for r in simulator.stats.requests_for("sf.delete")] == [204]
    gone = poll(simulator, job_id)
    assert (gone.status_code, gone.json()[0]["errorCode"]) == (404, "NOT_FOUND")


def test_a_job_past_its_retention_is_gone_everywhere(simulator: Simulator) -> None:
    job_id = completed(simulator)
    simulator.expire(job_id)
    assert poll(simulator, job_id).status_code == 404
    assert httpx.get(f"{jobs_url(simulator)}/{job_id}/results", headers=AUTH).status_code == 404


def test_an_expired_session_is_401_invalid_session_id(simulator: Simulator) -> None:
    access = token(simulator).json()["access_token"]
    job_id = create(simulator, bearer(access))["id"]
    simulator.expire_tokens()
    response = httpx.get(f"{jobs_url(simulator)}/{job_id}", headers=bearer(access))
    assert (response.status_code, response.json()[0]["errorCode"]) == (401, "INVALID_SESSION_ID")


@pytest.mark.parametrize(
    "body",
    [
        {"operation": "upsert", "query": "SELECT Id FROM Account"},
        {"operation": "query", "query": "DELETE FROM Account"},
        {"operation": "query", "query": "SELECT Id FROM Account", "contentType": "JSON"},
    ],
)
def test_a_bad_create_is_400_in_salesforces_error_list(simulator: Simulator, body: dict[str, object]) -> None:
    response = httpx.post(jobs_url(simulator), json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALIDJOB"


def test_an_unknown_api_version_is_404(simulator: Simulator) -> None:
    assert httpx.post(jobs_url(simulator, "v30.0"), json=QUERY, headers=AUTH).status_code == 404
