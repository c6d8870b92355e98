"""Power BI REST `ExportTo` (export a report to a file), as the reference pages and the published swagger show it.

Create answers 202 with an `Export` (`id`, `status`, `percentComplete`, `expirationTime`, `resourceLocation`,
`ResourceFileExtension`); the id is opaque and base64-like (it holds `=`, `+` and `/`), so a client must escape
it as one path segment. The status call answers HTTP 202 with `Retry-After` while `NotStarted`/`Running` and 200
once `Succeeded` or `Failed`. A `Failed` that carries `Retry-After` means the service was busy (create the export
again after the wait); without it the failure is permanent. `expirationTime` is the sentinel
`0001-01-01T00:00:00Z` until the export succeeds, then 24 h later. The file is read on the API origin, with the
bearer, from `.../exports/{exportId}/file`.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import quote

from local.simulator import entra, lifecycle
from local.simulator.config import FIXTURE_POWERBI_TOKEN
from local.simulator.content import seed_of, table_csv, table_rows_for, zip_one
from local.simulator.exchange import Exchange
from local.simulator.state import Fault, Grant, Job, SimState, utcnow

name = "powerbi"
routes = ("pbi.create", "pbi.status", "pbi.file")
SENTINEL = "0001-01-01T00:00:00Z"
FORMATS = {  # format -> (file extension, media type)
    "PDF": (".pdf", "application/pdf"),
    "ACCESSIBLEPDF": (".pdf", "application/pdf"),
    "PNG": (".png", "image/png"),
    "IMAGE": (".png", "image/png"),
    "PPTX": (".pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "XLSX": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "DOCX": (".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "CSV": (".csv", "text/csv"),
    "XML": (".xml", "application/xml"),
    "MHTML": (".mhtml", "multipart/related"),
}
CSV_COLUMNS = ["Region", "Product", "Month", "Revenue"]


def base_url(origin: str) -> str:
    return f"{origin}/v1.0/myorg"


def install_fixtures(state: SimState) -> None:
    state.grants[FIXTURE_POWERBI_TOKEN] = Grant(entra.POWERBI)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error(ex: Exchange, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
    entra.error(ex, status, code, message, headers, **{"pbi.error": {"code": code, "parameters": {}, "details": []}})


FAULT_WORDS = {
    429: ("TooManyRequests", "Too many requests."),
    401: ("TokenExpired", "Access token has expired, resubmit with a new access token."),
}
OTHER_FAULT = ("ServiceUnavailable", "The service is temporarily unavailable.")


def fault_response(ex: Exchange, state: SimState, fault: Fault) -> None:
    lifecycle.send_fault(ex, fault, error, FAULT_WORDS, OTHER_FAULT)


def _split(ex: Exchange) -> tuple[str | None, list[str]] | None:
    """(group id or None for My workspace, the segments after `reports`), if the path is a report's."""
    lowered = [s.lower() for s in ex.segments]
    if lowered[:2] != ["v1.0", "myorg"]:
        return None
    if lowered[2:3] == ["groups"] and len(lowered) > 4 and lowered[4] == "reports":
        return ex.segments[3], ex.segments[5:]
    if lowered[2:3] == ["reports"]:
        return None, ex.segments[3:]
    return None


def route_of(ex: Exchange) -> str | None:
    split = _split(ex)
    if split is None:
        return None
    rest = [s.lower() for s in split[1]]
    if len(rest) == 2 and rest[1] == "exportto" and ex.method == "POST":
        return "pbi.create"
    if len(rest) == 3 and rest[1] == "exports" and ex.method == "GET":
        return "pbi.status"
    if len(rest) == 4 and rest[1] == "exports" and rest[3] == "file" and ex.method == "GET":
        return "pbi.file"
    return None


def handle(ex: Exchange, state: SimState, route: str) -> None:
    if not entra.authorize(ex, state, entra.POWERBI, None, lambda status, text: refuse(ex, status, text)):
        return
    split = _split(ex)
    assert split is not None
    group, rest = split
    report = rest[0]
    known = state.config.powerbi_reports
    if (group is not None and report not in known.get(group, [])) or all(report not in r for r in known.values()):
        error(ex, 404, "PowerBIEntityNotFound", "Couldn't find the report in the workspace.")
        return
    if route == "pbi.create":
        create(ex, state, group, report)
    elif route == "pbi.status":
        status(ex, state, report, rest[2])
    else:
        file(ex, state, report, rest[2])


def refuse(ex: Exchange, status: int, text: str) -> None:
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common"'}
        error(ex, 401, "TokenExpired" if "expired" in text else "InvalidAuthenticationToken", text, headers)
    else:
        error(ex, 403, "Unauthorized", text)


def new_export_id() -> str:
    """Opaque, base64 with padding, always holding a `/` (as real ids often do): only path escaping keeps it."""
    while True:
        candidate = base64.b64encode(secrets.token_bytes(49)).decode()
        if "/" in candidate and candidate.endswith("="):
            return candidate


def create(ex: Exchange, state: SimState, group: str | None, report: str) -> None:
    try:
        body = ex.json_body()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("format"), str):
        error(ex, 400, "InvalidRequest", "The request must name a format.")
        return
    fmt = body["format"].upper()
    if fmt not in FORMATS:
        error(ex, 400, "InvalidRequest", f"Format {body['format'][:16]!r} is not supported.")
        return
    configs = [k for k in ("powerBIReportConfiguration", "paginatedReportConfiguration") if k in body]
    if len(configs) > 1 or any(not isinstance(body[k], dict) for k in configs):
        error(ex, 400, "InvalidRequest", "Give at most one report configuration, as an object.")
        return
    with state.lock:
        busy = state.config.powerbi_busy_failures > 0
        if busy:
            state.config.powerbi_busy_failures -= 1
    will_fail = busy or state.take_fail_flag()
    job = Job(name, new_export_id(), utcnow(), will_fail, state.config.never_finish, {"group": group, "report": report})
    job.params["format"] = fmt
    job.outcome = "busy" if busy else None
    job.ttl_after_finish_s = state.config.powerbi_result_ttl_s
    state.add_job(job)
    ex.send_json(202, export(ex, job, "NotStarted"))


def status_of(job: Job, state: SimState, now: datetime) -> str:
    if job.finished(state.config, now):
        return "Failed" if job.will_fail else "Succeeded"
    return "Running" if job.polls > 0 else "NotStarted"


def file_url(ex: Exchange, job: Job) -> str:
    group = job.params["group"]
    where = f"groups/{group}/reports" if group else "reports"
    return f"{ex.origin}/v1.0/myorg/{where}/{job.params['report']}/exports/{quote(job.job_id, safe='')}/file"


def export(ex: Exchange, job: Job, status: str) -> dict[str, Any]:
    succeeded = status == "Succeeded"
    percent = {"NotStarted": 0, "Running": 50}.get(status, 100)
    return {
        "id": job.job_id,
        "createdDateTime": iso(job.created),
        "lastActionDateTime": iso(job.finished_at or job.created),
        "reportId": job.params["report"],
        "reportName": "Simulated sales report",
        "status": status,
        "percentComplete": percent,
        "resourceLocation": file_url(ex, job) if succeeded else None,
        "ResourceFileExtension": FORMATS[job.params["format"]][0] if succeeded else None,
        "expirationTime": iso(job.expires_at) if succeeded and job.expires_at else SENTINEL,
    }


def find(ex: Exchange, state: SimState, report: str, export_id: str) -> Job | None:
    job = lifecycle.find_or_404(
        state, name, export_id, lambda: error(ex, 404, "PowerBIEntityNotFound", "Couldn't find the export.")
    )
    if job is not None and job.params["report"] != report:
        error(ex, 404, "PowerBIEntityNotFound", "Couldn't find the export.")
        return None
    return job


def status(ex: Exchange, state: SimState, report: str, export_id: str) -> None:
    job = find(ex, state, report, export_id)
    if job is None:
        return
    current = lifecycle.poll(state, job, status_of)
    running = current in ("NotStarted", "Running")
    if running:
        headers = lifecycle.retry_after_header(state.config.powerbi_retry_after_s, True)
    elif current == "Failed" and job.outcome == "busy":
        headers = {"Retry-After": str(state.config.powerbi_busy_retry_after_s)}
    else:
        headers = {}
    ex.send_json(202 if running else 200, export(ex, job, current), headers)


def content(job: Job, size: int) -> bytes:
    seed, fmt = seed_of(job.job_id), job.params["format"]
    table = table_csv(seed, CSV_COLUMNS, 0, table_rows_for(seed, CSV_COLUMNS, size))
    if fmt == "CSV":
        return table
    if fmt in ("PPTX", "XLSX", "DOCX"):
        return zip_one("[Content_Types].xml", table)
    head = {
        "PDF": b"%PDF-1.7\n",
        "ACCESSIBLEPDF": b"%PDF-1.7\n",
        "PNG": b"\x89PNG\r\n\x1a\n",
        "IMAGE": b"\x89PNG\r\n\x1a\n",
    }
    return head.get(fmt, b"") + table + (b"%%EOF\n" if fmt.endswith("PDF") else b"")


def file(ex: Exchange, state: SimState, report: str, export_id: str) -> None:
    job = find(ex, state, report, export_id)
    if job is None:
        return
    if lifecycle.peek(state, job, status_of) != "Succeeded":
        error(ex, 400, "ExportNotReady", "The export has not succeeded; its file is not available.")
        return
    if lifecycle.expired(job):
        error(ex, 404, "PowerBIEntityNotFound", "The exported file has expired.")
        return
    data = content(job, state.config.content_size)
    media = FORMATS[job.params["format"]][1]
    lifecycle.send_result(
        ex, state, lifecycle.chunked(data, state.config.chunk_size), content_type=media, length=len(data)
    )
