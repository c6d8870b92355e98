"""Intune reports export jobs (Graph v1.0 `deviceManagement/reports/exportJobs`), as the reference pages show them.

Create answers 201 with the entity: `status: notStarted`, `url: null` and the sentinel
`expirationDateTime: 0001-01-01T00:00:00Z` ("not yet", never "expired") until the job completes. Status values are
`unknown`, `notStarted`, `inProgress`, `completed`, `failed`; no Retry-After is documented on the status call, so
none is sent. When completed, `url` is a read-only SAS URL on the blob origin (another origin: the Graph token
must never go there) serving a zip that holds one CSV (or JSON with `format: json`), and `expirationDateTime` is
about six hours after completion. DELETE removes the job (cleanup). There is no list endpoint.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

from local.simulator import blobs, entra, lifecycle
from local.simulator.config import FIXTURE_INTUNE_TOKEN
from local.simulator.content import seed_of, table_csv, table_rows_for, zip_one
from local.simulator.exchange import Exchange
from local.simulator.state import Fault, Grant, Job, SimState, utcnow

name = "intune"
routes = ("intune.create", "intune.get", "intune.delete", "intune.list", "intune.download")
COLLECTION = ["v1.0", "devicemanagement", "reports", "exportjobs"]
ROLES = {"DeviceManagementConfiguration.ReadWrite.All", "DeviceManagementManagedDevices.ReadWrite.All"}
SENTINEL = "0001-01-01T00:00:00Z"
REPORTS: dict[str, list[str]] = {  # report name -> the columns a request without `select` gets
    "Devices": ["DeviceId", "DeviceName", "OwnerType", "OS", "OSVersion", "LastContact"],
    "DevicesWithInventory": ["DeviceId", "DeviceName", "Manufacturer", "Model", "SerialNumber", "LastContact"],
    "DeviceCompliance": ["DeviceId", "DeviceName", "ComplianceState", "OS", "OSVersion", "UPN"],
    "DeviceNonCompliance": ["DeviceId", "DeviceName", "ComplianceState", "OS", "OSVersion", "UPN"],
    "AppInvRawData": ["ApplicationKey", "ApplicationName", "ApplicationVersion", "DeviceId", "DeviceName"],
    "AppInvAggregate": ["ApplicationKey", "ApplicationName", "ApplicationVersion", "DeviceCount"],
    "DefenderAgents": ["DeviceId", "DeviceName", "DeviceState", "AntiMalwareVersion", "EngineVersion"],
    "ActiveMalware": ["DeviceId", "DeviceName", "MalwareId", "MalwareName", "Severity", "DetectionCount"],
    "CertificateReport": ["DeviceId", "DeviceName", "CertificateThumbprint", "ExpiryDate", "UPN"],
}
COLUMN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
FORMATS = ("csv", "json")
LOCALIZATION = ("localizedValuesAsAdditionalColumn", "replaceLocalizableValues")


def base_url(origin: str) -> str:
    return f"{origin}/v1.0"


def install_fixtures(state: SimState) -> None:
    state.grants[FIXTURE_INTUNE_TOKEN] = Grant(entra.GRAPH, frozenset({"DeviceManagementManagedDevices.ReadWrite.All"}))


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z"


def error(ex: Exchange, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
    inner = {"date": utcnow().strftime("%Y-%m-%dT%H:%M:%S"), "request-id": str(uuid.uuid4())}
    entra.error(ex, status, code, message, headers, innerError={**inner, "client-request-id": str(uuid.uuid4())})


FAULT_WORDS = {
    429: ("TooManyRequests", "Too many requests."),
    401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
}
OTHER_FAULT = ("ServiceUnavailable", "The service is temporarily unavailable.")


def fault_response(ex: Exchange, state: SimState, fault: Fault) -> None:
    lifecycle.send_fault(ex, fault, error, FAULT_WORDS, OTHER_FAULT)


def route_of(ex: Exchange) -> str | None:
    if [s.lower() for s in ex.segments[:4]] != COLLECTION:
        return None
    rest = ex.segments[4:]
    if not rest:
        return {"POST": "intune.create"}.get(ex.method, "intune.list")
    if len(rest) == 1:
        return {"GET": "intune.get", "DELETE": "intune.delete"}.get(ex.method)
    return None


def handle(ex: Exchange, state: SimState, route: str) -> None:
    if route == "intune.list":  # reported in the field: there is no list of export jobs
        message = f"The requested resource does not support http method '{ex.method}'."
        error(ex, 405, "BadRequest", message, {"Allow": "POST"})
        return
    if not entra.authorize(ex, state, entra.GRAPH, ROLES, lambda status, text: refuse(ex, status, text)):
        return
    if route == "intune.create":
        create(ex, state)
    elif route == "intune.get":
        get(ex, state, ex.segments[4])
    else:
        delete(ex, state, ex.segments[4])


def refuse(ex: Exchange, status: int, text: str) -> None:
    error(ex, status, "InvalidAuthenticationToken" if status == 401 else "Forbidden", text)


def create(ex: Exchange, state: SimState) -> None:
    try:
        body = ex.json_body()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        error(ex, 400, "BadRequest", "The request body must be a JSON object.")
        return
    report = body.get("reportName")
    if report not in REPORTS:
        error(ex, 400, "BadRequest", f"Invalid reportName: {str(report)[:64]!r}")
        return
    select = body.get("select") or REPORTS[report]
    if not isinstance(select, list) or not all(isinstance(c, str) and COLUMN.match(c) for c in select):
        error(ex, 400, "BadRequest", "select must be a list of column names.")
        return
    fmt = body.get("format") or "csv"
    if fmt not in FORMATS:
        error(ex, 400, "BadRequest", f"Invalid format: {str(fmt)[:16]!r}; expected csv or json.")
        return
    filt = body.get("filter") or ""
    if not isinstance(filt, str):
        error(ex, 400, "BadRequest", "filter must be a string.")
        return
    localization = body.get("localizationType") or LOCALIZATION[0]
    if localization not in LOCALIZATION:
        error(ex, 400, "BadRequest", "Invalid localizationType.")
        return
    params = {
        "reportName": report,
        "select": list(select),
        "format": fmt,
        "filter": filt,
        "localizationType": localization,
        "requested": body.get("select") or [],
    }
    job = Job(name, f"{report}_{uuid.uuid4()}", utcnow(), state.take_fail_flag(), state.config.never_finish, params)
    job.ttl_after_finish_s = state.config.intune_result_ttl_s
    state.add_job(job)
    ex.send_json(201, entity(ex, state, job, "notStarted"))


def status_of(job: Job, state: SimState, now: datetime) -> str:
    if job.finished(state.config, now):
        return "failed" if job.will_fail else "completed"
    if 0 < job.polls <= state.config.intune_unknown_polls:
        return "unknown"
    return "inProgress" if job.polls > 0 else "notStarted"


def content(job: Job, size: int) -> bytes:
    """The zip holding the report: one CSV (or JSON) named after the job, of at least `size` bytes unpacked."""
    columns: list[str] = job.params["select"]
    seed = seed_of(job.job_id)
    rows = table_rows_for(seed, columns, size)
    if job.params["format"] == "json":
        values = [[f"{column}-{index:08d}-{seed}" for column in columns] for index in range(rows)]
        payload = json.dumps({"schema": [{"Column": c, "PropertyType": "String"} for c in columns], "values": values})
        return zip_one(f"{job.job_id}.json", payload.encode())
    return zip_one(f"{job.job_id}.csv", table_csv(seed, columns, 0, rows))


def result_url(state: SimState, job: Job) -> str:
    assert job.expires_at is not None  # set when the job finished
    size = state.config.content_size

    def body() -> bytes:
        return content(job, size)

    blob = blobs.StoredBlob("intune.download", job.job_id, "application/x-zip-compressed", body)
    return blobs.publish(state, f"/reports-export/{quote(job.job_id, safe='')}.zip", blob, job.expires_at)


def entity(ex: Exchange, state: SimState, job: Job, status: str) -> dict[str, Any]:
    completed = status == "completed"
    return {
        "@odata.context": f"{ex.origin}/v1.0/$metadata#deviceManagement/reports/exportJobs/$entity",
        "id": job.job_id,
        "reportName": job.params["reportName"],
        "filter": job.params["filter"],
        "select": job.params["requested"],
        "format": job.params["format"],
        "snapshotId": None,
        "localizationType": job.params["localizationType"],
        "status": status,
        "url": result_url(state, job) if completed else None,
        "requestDateTime": iso(job.created),
        "expirationDateTime": iso(job.expires_at) if completed and job.expires_at else SENTINEL,
    }


def find(ex: Exchange, state: SimState, job_id: str) -> Job | None:
    return lifecycle.find_or_404(
        state, name, job_id, lambda: error(ex, 404, "ResourceNotFound", f"Export job {job_id[:80]} was not found.")
    )


def get(ex: Exchange, state: SimState, job_id: str) -> None:
    job = find(ex, state, job_id)
    if job is None:
        return
    status = lifecycle.poll(state, job, status_of)
    ex.send_json(200, entity(ex, state, job, status))  # the entity has no failure reason; none is invented


def delete(ex: Exchange, state: SimState, job_id: str) -> None:
    job = find(ex, state, job_id)
    if job is None:
        return
    with state.lock:
        job.deleted = True
    ex.send_empty(204)
