"""Microsoft Graph beta Viva Goals export jobs, as the reference pages show them (quirks included)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from local.simulator import lifecycle
from local.simulator.content import csv_chunks, csv_file, csv_length
from local.simulator.exchange import Exchange
from local.simulator.state import Fault, Job, SimState, utcnow

name = "graph"
routes = ("graph.create", "graph.get", "graph.list", "graph.content")
COLLECTION = ["employeeexperience", "goals", "exportjobs"]
READ_SCOPES = {"Goals-Export.Read.All", "Goals-Export.ReadWrite.All"}
WRITE_SCOPES = {"Goals-Export.ReadWrite.All"}
FILTER = re.compile(r"^goalsOrganizationId eq '([0-9a-fA-F-]{36})'$")
SIGNING_KEY = b"simulator-download-signing"


def is_guid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def timestamp(moment: datetime, state: SimState) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 100:04d}Z"
    return text.replace(":", "-") if state.config.hyphen_timestamps else text


def error(ex: Exchange, state: SimState, status: int, code: str, message: str, inner: str, **extra: Any) -> None:
    headers = extra.pop("headers", None)
    lower = state.config.innererror_lowercase
    inner_key = "innererror" if (lower if lower is not None else status == 409) else "innerError"
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%S")
    body = {"code": code, "message": ex.echoed(message), **extra}
    body[inner_key] = {
        "code": inner,
        "date": now,
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }
    ex.send_json(status, {"error": body}, headers)


def base_url(origin: str) -> str:
    return f"{origin}/beta"


def fault_response(ex: Exchange, state: SimState, fault: Fault) -> None:
    headers = lifecycle.fault_headers(fault)
    if fault.body is not None:
        ex.send_json(fault.status or 500, fault.body, headers)
    elif fault.status == 429:
        error(ex, state, 429, "TooManyRequests", "Too many requests", "throttled", headers=headers)
    else:
        error(
            ex,
            state,
            fault.status or 503,
            "serviceNotAvailable",
            "The service is temporarily unavailable",
            "unknown",
            headers=headers,
        )


def job_url(ex: Exchange, job_id: str) -> str:
    return f"{ex.origin}/beta/employeeExperience/goals/exportJobs/{quote(job_id, safe='!')}"


def content_url(ex: Exchange, state: SimState, job: Job) -> str:
    host = state.config.content_host
    if not host:
        return job_url(ex, job.job_id) + "/content"
    signature = hmac.new(SIGNING_KEY, job.job_id.encode(), hashlib.sha256).hexdigest()[:32]
    path = f"/beta/employeeExperience/goals/exportJobs/{quote(job.job_id, safe='!')}/content"
    return f"http://{host}:{ex.port}{path}?sig={signature}"


def status_of(job: Job, state: SimState, now: datetime) -> str:
    if job.finished(state.config, now):
        return "failed" if job.will_fail else "succeeded"
    return "running" if job.polls > 0 else "notStarted"


def entity(ex: Exchange, state: SimState, job: Job, status: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.goalsExportJob",
        "id": job.job_id,
        "status": status,
        "goalsOrganizationId": job.params["org"],
        "explorerViewId": job.params["view"],
        "createdDateTime": timestamp(job.created, state),
        "lastActionDateTime": timestamp(job.finished_at or job.created, state),
    }
    if job.expires_at:
        body["expirationDateTime"] = timestamp(job.expires_at, state)
    if status == "succeeded":
        body["resourceLocation"] = content_url(ex, state, job)
    if status == "failed":
        body["statusDetail"] = ex.echoed(
            "Export failed: the Explorer view references objectives that were deleted during the export"
        )
    return body


def shaped(ex: Exchange, state: SimState, body: dict[str, Any]) -> dict[str, Any]:
    if "$select" in ex.query:
        keep = {name.strip() for name in ex.query["$select"].split(",")} | {"id", "@odata.type"}
        body = {key: value for key, value in body.items() if key in keep}
    if state.config.wrap_value:
        return {"value": body}
    return {
        "@odata.context": f"{ex.origin}/beta/$metadata#employeeExperience/goals/exportJobs/$entity",
        "@microsoft.graph.tips": "Use $select to choose only the properties your app needs.",
        **body,
    }


def valid_job_key(job_id: str) -> bool:
    if not job_id.startswith("j!"):
        return False
    encoded = job_id[2:]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(decoded, dict) and "id" in decoded


def route_of(ex: Exchange) -> str | None:
    lowered = [s.lower() for s in ex.segments]
    if lowered[:1] != ["beta"] or lowered[1:4] != COLLECTION:
        return None
    rest = ex.segments[4:]
    if not rest:
        return {"POST": "graph.create", "GET": "graph.list"}.get(ex.method)
    if len(rest) == 1 and ex.method == "GET":
        return "graph.get"
    if len(rest) == 2 and rest[1].lower() == "content" and ex.method == "GET":
        return "graph.content"
    return None


def authorize(ex: Exchange, state: SimState, scopes: set[str]) -> bool:
    token = ex.bearer()
    with state.lock:
        grant = state.graph_tokens.get(token or "")
    if grant is None or (grant[1] is not None and utcnow() >= grant[1]):
        reason = "Access token has expired or is not yet valid." if grant else "Access token is empty or invalid."
        error(ex, state, 401, "InvalidAuthenticationToken", reason, "unauthenticated")
        return False
    if not grant[0] & scopes:
        error(
            ex,
            state,
            403,
            "Forbidden",
            f"Missing scope: one of {', '.join(sorted(scopes))} is required",
            "accessDenied",
        )
        return False
    return True


def signed_download(ex: Exchange, state: SimState, job_id: str) -> bool:
    host = state.config.content_host
    if not host or ex.host != host:
        return False
    expected = hmac.new(SIGNING_KEY, job_id.encode(), hashlib.sha256).hexdigest()[:32]
    return hmac.compare_digest(ex.query.get("sig", ""), expected)


def handle(ex: Exchange, state: SimState, route: str) -> None:
    if route == "graph.content" and signed_download(ex, state, ex.segments[4]):
        content(ex, state, ex.segments[4])
        return
    if not authorize(ex, state, WRITE_SCOPES if route == "graph.create" else READ_SCOPES):
        return
    if route == "graph.create":
        create(ex, state)
    elif route == "graph.list":
        list_jobs(ex, state)
    elif route == "graph.get":
        get(ex, state, ex.segments[4])
    else:
        content(ex, state, ex.segments[4])


def create(ex: Exchange, state: SimState) -> None:
    try:
        body = ex.json_body()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    org, view = body.get("goalsOrganizationId"), body.get("explorerViewId")
    if not is_guid(org):
        msg = "'GoalsOrganizationId' must be specified in 'Export Job', and it should be a valid GUID."
        error(ex, state, 400, "badRequest", msg, "invalidGoalsOrganizationId")
        return
    if not is_guid(view):
        msg = "'ExplorerViewId' must be specified in 'Export Job', and it should be a valid GUID."
        error(ex, state, 400, "badRequest", msg, "invalidExplorerViewId")
        return
    if org not in state.config.organizations:
        error(ex, state, 404, "notFound", "Goals organization not found", "goalsOrganizationIdNotFound")
        return
    if view not in state.config.organizations[org]:
        error(ex, state, 404, "notFound", "Explorer view not found", "explorerViewIdNotFound")
        return
    now = utcnow()
    with state.lock:
        pending = [
            j
            for j in state.jobs.values()
            if j.api == "graph"
            and (j.params["org"], j.params["view"]) == (org, view)
            and not j.finished(state.config, now)
        ]
        if pending:
            existing = pending[0]
            message = "Another export job is still active or waiting to be executed"
            error(
                ex,
                state,
                409,
                "notAllowed",
                message,
                "exportJobAlreadyExists",
                target=existing.job_id,
                headers={"Location": location(state, job_url(ex, existing.job_id))},
            )
            return
        job = Job(
            "graph",
            state.new_job_id("graph"),
            now,
            state.take_fail_flag(),
            state.config.never_finish,
            {"org": org, "view": view},
        )
        state.add_job(job)
    payload = {
        "@odata.context": f"{ex.origin}/beta/$metadata#employeeExperience/goals/exportJobs/$entity",
        "id": job.job_id,
        "createdDateTime": timestamp(job.created, state),
        "status": "notStarted",
    }
    ex.send_json(201, payload, {"Location": location(state, job_url(ex, job.job_id))})


def location(state: SimState, url: str) -> str:
    return f'"{url}"' if state.config.quoted_location else url


def find(ex: Exchange, state: SimState, job_id: str) -> Job | None:
    if not valid_job_key(job_id):
        error(ex, state, 400, "badRequest", "Invalid JobKey specified", "unknown")
        return None
    return lifecycle.find_or_404(
        state,
        "graph",
        job_id,
        lambda: error(ex, state, 404, "notFound", "Specified export job not found", "exportJobNotFound"),
    )


def get(ex: Exchange, state: SimState, job_id: str) -> None:
    job = find(ex, state, job_id)
    if job is None:
        return
    status = lifecycle.poll(state, job, status_of)
    headers = lifecycle.retry_after_header(state.config.retry_after_s, status in ("notStarted", "running"))
    ex.send_json(200, shaped(ex, state, entity(ex, state, job, status)), headers)


def list_jobs(ex: Exchange, state: SimState) -> None:
    match = FILTER.match(ex.query.get("$filter", ""))
    if not match:
        msg = "Invalid filter clause: only goalsOrganizationId eq '<guid>' is supported"
        error(ex, state, 400, "badRequest", msg, "invalidFilter")
        return
    now = utcnow()
    with state.lock:
        jobs = [j for j in state.jobs.values() if j.api == "graph" and j.params["org"] == match.group(1).lower()]
        items = [entity(ex, state, j, status_of(j, state, now)) for j in jobs]
    ex.send_json(
        200, {"@odata.context": f"{ex.origin}/beta/$metadata#employeeExperience/goals/exportJobs", "value": items}
    )


def content(ex: Exchange, state: SimState, job_id: str) -> None:
    job = find(ex, state, job_id)
    if job is None:
        return
    if lifecycle.peek(state, job, status_of) != "succeeded":
        error(
            ex,
            state,
            409,
            "notAllowed",
            "The export job has not succeeded; its content is not available",
            "exportJobNotReady",
        )
        return
    if lifecycle.expired(job):
        error(ex, state, 404, "notFound", "The export job content has expired", "exportJobContentExpired")
        return
    size, cfg = state.config.content_size, state.config
    if cfg.content_file_dir and not cfg.content_bytes_per_s and not state.has_fault("graph.content", drop=True):
        ex.send_file(200, "text/csv", csv_file(Path(cfg.content_file_dir), job_id, size))
        return
    lifecycle.send_result(
        ex, state, csv_chunks(job_id, size, cfg.chunk_size), content_type="text/csv", length=csv_length(job_id, size)
    )
