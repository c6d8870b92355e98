"""Plain-HTTP clients for the four simulated APIs of issue 18, one per API, written from the vendors' documents:
start a job, poll it to its end, and name its download. The fault tests drive all four through this one shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from local.simulator import (
    FIXTURE_COST_SCOPE,
    FIXTURE_COST_TOKEN,
    FIXTURE_INTUNE_TOKEN,
    FIXTURE_POWERBI_GROUP,
    FIXTURE_POWERBI_REPORT,
    FIXTURE_POWERBI_TOKEN,
    FIXTURE_SALESFORCE_TOKEN,
    Simulator,
)

SF_VERSION = "v62.0"
COST_VERSION = "2023-11-01"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def segment(value: str) -> str:
    """`value` escaped as one path segment."""
    return quote(value, safe="")


@dataclass
class Started:
    job_id: str
    status_url: str
    headers: dict[str, str]  # what the status call and an API-origin download send


@dataclass(frozen=True)
class Driver:
    api: str
    status_route: str
    download_route: str
    download_needs_token: bool  # False: the result is on the blob origin, read with no token

    def start(self, sim: Simulator) -> Started:
        return _START[self.api](sim)

    def poll(self, started: Started) -> httpx.Response:
        return httpx.get(started.status_url, headers=started.headers)

    def finish(self, sim: Simulator, started: Started) -> str:
        """Poll until done; the download URL (the first part's, for several)."""
        for _ in range(10):
            response = self.poll(started)
            done = _DONE[self.api](response)
            if done is not None:
                return done
        raise AssertionError(f"{self.api} job {started.job_id} did not finish")

    def download(self, url: str, started: Started) -> httpx.Response:
        return httpx.get(url, headers=started.headers if self.download_needs_token else {})


def _start_intune(sim: Simulator) -> Started:
    headers = bearer(FIXTURE_INTUNE_TOKEN)
    url = f"{sim.intune_base_url}/deviceManagement/reports/exportJobs"
    body = {"reportName": "Devices", "select": ["DeviceName", "OSVersion"], "format": "csv"}
    created = httpx.post(url, json=body, headers=headers)
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    return Started(job_id, f"{url}/{segment(job_id)}", headers)


def _start_powerbi(sim: Simulator) -> Started:
    headers = bearer(FIXTURE_POWERBI_TOKEN)
    report = f"{sim.powerbi_base_url}/groups/{FIXTURE_POWERBI_GROUP}/reports/{FIXTURE_POWERBI_REPORT}"
    created = httpx.post(f"{report}/ExportTo", json={"format": "PDF"}, headers=headers)
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    return Started(job_id, f"{report}/exports/{segment(job_id)}", headers)


def _start_cost(sim: Simulator) -> Started:
    headers = bearer(FIXTURE_COST_TOKEN)
    url = f"{sim.cost_base_url}/{FIXTURE_COST_SCOPE}/providers/Microsoft.CostManagement/generateCostDetailsReport"
    body = {"metric": "ActualCost", "timePeriod": {"start": "2026-10-01", "end": "2026-10-31"}}
    created = httpx.post(url, params={"api-version": COST_VERSION}, json=body, headers=headers)
    assert created.status_code == 202, created.text
    location = created.headers["Location"]
    return Started(location.split("?")[0].rsplit("/", 1)[1], location, headers)


def _start_salesforce(sim: Simulator) -> Started:
    headers = bearer(FIXTURE_SALESFORCE_TOKEN)
    url = f"{sim.salesforce_login_url}/services/data/{SF_VERSION}/jobs/query"
    created = httpx.post(url, json={"operation": "query", "query": "SELECT Id, Name FROM Account"}, headers=headers)
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    return Started(job_id, f"{url}/{job_id}", headers)


def _done_intune(response: httpx.Response) -> str | None:
    body = response.json()
    return str(body["url"]) if body["status"] == "completed" else None


def _done_powerbi(response: httpx.Response) -> str | None:
    return str(response.json()["resourceLocation"]) if response.status_code == 200 else None


def _done_cost(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return None
    body: dict[str, Any] = response.json()
    return str(body["manifest"]["blobs"][0]["blobLink"])


def _done_salesforce(response: httpx.Response) -> str | None:
    if response.json()["state"] != "JobComplete":
        return None
    return str(response.request.url) + "/results"


_START = {
    "intune": _start_intune,
    "powerbi": _start_powerbi,
    "costdetails": _start_cost,
    "salesforce": _start_salesforce,
}
_DONE = {"intune": _done_intune, "powerbi": _done_powerbi, "costdetails": _done_cost, "salesforce": _done_salesforce}

DRIVERS = [
    Driver("intune", "intune.get", "intune.download", download_needs_token=False),
    Driver("powerbi", "pbi.status", "pbi.file", download_needs_token=True),
    Driver("costdetails", "cost.status", "cost.download", download_needs_token=False),
    Driver("salesforce", "sf.status", "sf.results", download_needs_token=True),
]
