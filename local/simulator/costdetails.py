"""Azure Cost Management cost details reports (`generateCostDetailsReport`), as the REST reference and the
`Azure/azure-rest-api-specs` definitions show them.

The create answers 202 with no body and two headers: `Location`, a full URL on the same origin
(`.../costDetailsOperationResults/{operationId}?api-version=...`) that is the job, and `Retry-After`; 204 means
there is no data for the period (a success with nothing to store). Polling the Location answers 202 with an
empty body (and Retry-After) while the report is built, then 200 with `status` `Completed`, `NoDataFound` or
`Failed` (+ `error`); progress is the HTTP status, there is no "running" word. A completed report's
`manifest.blobs[].blobLink` are one or more SAS URLs on the blob origin (another origin: no token), each a CSV
with its own header row, valid until `validTill`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

from local.simulator import blobs, entra, lifecycle
from local.simulator.config import FIXTURE_COST_TOKEN
from local.simulator.content import job_file, seed_of, table_csv, table_rows_for
from local.simulator.exchange import Exchange
from local.simulator.state import Fault, Grant, Job, SimState, utcnow

name = "costdetails"
routes = ("cost.create", "cost.status", "cost.download")
PROVIDER = "microsoft.costmanagement"
API_VERSIONS = ("2022-05-01", "2023-03-01", "2023-08-01", "2023-11-01", "2024-08-01", "2025-03-01")
METRICS = ("ActualCost", "AmortizedCost")
COLUMNS = [
    "InvoiceSectionName",
    "AccountName",
    "SubscriptionId",
    "Date",
    "MeterCategory",
    "Quantity",
    "EffectivePrice",
    "CostInBillingCurrency",
    "BillingCurrency",
    "ResourceId",
]
MAX_DAYS = 31  # one month per request at most
FAILURE = "The report could not be generated: the data for the requested scope is being refreshed."


def base_url(origin: str) -> str:
    return origin


def install_fixtures(state: SimState) -> None:
    state.grants[FIXTURE_COST_TOKEN] = Grant(entra.ARM)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def error(ex: Exchange, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
    entra.error(ex, status, code, message, headers)


FAULT_WORDS = {
    429: ("TooManyRequests", "Too many requests. Please retry."),
    401: ("ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than now."),
}
OTHER_FAULT = ("ServiceUnavailable", "The service is temporarily unavailable.")


def fault_response(ex: Exchange, state: SimState, fault: Fault) -> None:
    lifecycle.send_fault(ex, fault, error, FAULT_WORDS, OTHER_FAULT)


def _split(ex: Exchange) -> tuple[list[str], list[str]] | None:
    """(scope segments, segments after the provider) if the path is under a scope's Microsoft.CostManagement."""
    lowered = [s.lower() for s in ex.segments]
    for at in range(len(lowered) - 2, 0, -1):
        if lowered[at] == "providers" and lowered[at + 1] == PROVIDER:
            return ex.segments[:at], ex.segments[at + 2 :]
    return None


def route_of(ex: Exchange) -> str | None:
    split = _split(ex)
    if split is None:
        return None
    rest = [s.lower() for s in split[1]]
    if rest == ["generatecostdetailsreport"] and ex.method == "POST":
        return "cost.create"
    if len(rest) == 2 and rest[0] == "costdetailsoperationresults" and ex.method == "GET":
        return "cost.status"
    return None


def handle(ex: Exchange, state: SimState, route: str) -> None:
    version = ex.query.get("api-version")
    if version is None:
        error(ex, 400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required.")
        return
    if version not in API_VERSIONS:
        error(ex, 400, "InvalidApiVersionParameter", f"The api-version '{version[:32]}' is invalid.")
        return
    if not entra.authorize(ex, state, entra.ARM, None, lambda status, text: refuse(ex, status, text)):
        return
    split = _split(ex)
    assert split is not None
    scope = "/".join(split[0])
    if route == "cost.create":
        create(ex, state, scope, version)
    else:
        status(ex, state, scope, split[1][1])


def refuse(ex: Exchange, status: int, text: str) -> None:
    if status == 401:
        error(ex, 401, "ExpiredAuthenticationToken" if "expired" in text else "InvalidAuthenticationToken", text)
    else:
        error(ex, 403, "AuthorizationFailed", text)


def _period(body: dict[str, Any]) -> str | None:
    """Why the body's period is refused, or None."""
    given = [k for k in ("timePeriod", "billingPeriod", "invoiceId") if body.get(k) is not None]
    if len(given) != 1:
        return "Exactly one of timePeriod, billingPeriod or invoiceId must be given."
    period = body.get("timePeriod")
    if period is None:
        return None if isinstance(body.get(given[0]), str) else f"{given[0]} must be a string."
    try:
        start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    except (TypeError, KeyError, ValueError):
        return "timePeriod needs start and end dates (yyyy-MM-dd)."
    if end < start or (end - start).days > MAX_DAYS:
        return f"timePeriod must run forward over at most {MAX_DAYS} days."
    return None


def create(ex: Exchange, state: SimState, scope: str, version: str) -> None:
    try:
        body = ex.json_body()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        error(ex, 400, "BadRequest", "The request body must be a JSON object.")
        return
    metric = body.get("metric", "ActualCost")
    if metric not in METRICS:
        error(ex, 400, "BadRequest", "metric must be ActualCost or AmortizedCost.")
        return
    problem = _period(body)
    if problem is not None:
        error(ex, 400, "BadRequest", problem)
        return
    if state.config.cost_no_data_on_create:
        ex.send_empty(204)
        return
    params = {"scope": scope, "version": version, "request": body, "no_data": state.config.cost_no_data_on_status}
    job = Job(name, str(uuid.uuid4()), utcnow(), state.take_fail_flag(), state.config.never_finish, params)
    job.params["parts"] = max(1, state.config.cost_parts)
    job.params["size"] = state.config.content_size
    job.ttl_after_finish_s = state.config.cost_result_ttl_s
    state.add_job(job)
    headers = {"Location": location(ex, job), "Retry-After": str(state.config.cost_retry_after_s)}
    ex.send_empty(202, headers)


def location(ex: Exchange, job: Job) -> str:
    path = f"/{job.params['scope']}/providers/Microsoft.CostManagement/costDetailsOperationResults/{job.job_id}"
    return f"{ex.origin}{path}?api-version={job.params['version']}"


def status_of(job: Job, state: SimState, now: datetime) -> str:
    if job.finished(state.config, now):
        return "Failed" if job.will_fail else "NoDataFound" if job.params["no_data"] else "Completed"
    return "Running"


def part(job: Job, index: int) -> bytes:
    """Part `index` (from 0): a CSV with its own header; the job's rows are split evenly over the parts."""
    seed, parts = seed_of(job.job_id), job.params["parts"]
    rows = table_rows_for(seed, COLUMNS, job.params["size"])
    per_part = -(-rows // parts)
    start = index * per_part
    return table_csv(seed, COLUMNS, start, max(0, min(per_part, rows - start)))


def manifest(state: SimState, job: Job) -> dict[str, Any]:
    assert job.expires_at is not None  # set when the job finished
    links = []
    for index in range(job.params["parts"]):

        def body(index: int = index) -> bytes:
            return part(job, index)

        file_name = f"part_{index + 1:04d}.csv"
        written = None
        if state.config.content_file_dir:  # the benchmark's: written once, then sent with sendfile
            written = job_file(Path(state.config.content_file_dir), name, job.job_id, file_name, body)
        blob = blobs.StoredBlob("cost.download", job.job_id, "text/csv", body, written)
        path = f"/armreports/{job.job_id}/{file_name}"
        size = written.stat().st_size if written is not None else len(body())
        links.append({"blobLink": blobs.publish(state, path, blob, job.expires_at), "byteCount": size})
    return {
        "manifestVersion": "2024-08-01",
        "dataFormat": "Csv",
        "byteCount": sum(link["byteCount"] for link in links),
        "blobCount": len(links),
        "compressData": False,
        "requestContext": {"requestScope": f"/{job.params['scope']}", "requestBody": job.params["request"]},
        "blobs": links,
    }


def status(ex: Exchange, state: SimState, scope: str, operation_id: str) -> None:
    job = lifecycle.find_or_404(
        state, name, operation_id, lambda: error(ex, 404, "NotFound", "The operation was not found.")
    )
    if job is None:
        return
    if job.params["scope"].lower() != scope.lower():
        error(ex, 404, "NotFound", "The operation was not found.")
        return
    current = lifecycle.poll(state, job, status_of)
    if current == "Running":
        headers = {"Location": location(ex, job), "Retry-After": str(state.config.cost_retry_after_s)}
        ex.send_empty(202, headers)
        return
    path = f"/{job.params['scope']}/providers/Microsoft.CostManagement/costDetailsOperationResults/{job.job_id}"
    body: dict[str, Any] = {"id": path, "name": job.job_id, "status": current}
    if current == "Completed":
        body["manifest"] = manifest(state, job)
    elif current == "NoDataFound":
        body["manifest"] = {"manifestVersion": "2024-08-01", "dataFormat": "Csv", "byteCount": 0, "blobCount": 0}
        body["manifest"]["blobs"] = []
    else:
        body["error"] = {"code": "ReportGenerationFailed", "message": ex.echoed(FAILURE)}
    if current != "Failed" and job.expires_at is not None:
        body["validTill"] = iso(job.expires_at)
    ex.send_json(200, body)
