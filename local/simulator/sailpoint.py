"""SailPoint Identity Security Cloud SP-Config export, with its OAuth token endpoint and rate limit."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from local.simulator import lifecycle
from local.simulator.content import sailpoint_chunks
from local.simulator.exchange import Exchange
from local.simulator.state import Fault, Job, SimState, utcnow

name = "sailpoint"
routes = ("sp.token", "sp.create", "sp.status", "sp.download")
VERSIONS = ("beta", "v2024", "v2025", "v3")
# The object types the SP-Config export accepts, as the vendor's API reference lists them (written here from
# the documents, not taken from the connector, so a connector that misreads the list fails against this one).
OBJECT_TYPES = frozenset(
    {
        "ACCESS_PROFILE",
        "ACCESS_REQUEST_CONFIG",
        "ATTR_SYNC_SOURCE_CONFIG",
        "AUTH_ORG",
        "CAMPAIGN_FILTER",
        "CONNECTOR_RULE",
        "FORM_DEFINITION",
        "GOVERNANCE_GROUP",
        "IDENTITY_OBJECT_CONFIG",
        "IDENTITY_PROFILE",
        "LIFECYCLE_STATE",
        "NOTIFICATION_TEMPLATE",
        "PASSWORD_POLICY",
        "PASSWORD_SYNC_GROUP",
        "PUBLIC_IDENTITIES_CONFIG",
        "ROLE",
        "RULE",
        "SEGMENT",
        "SERVICE_DESK_INTEGRATION",
        "SOD_POLICY",
        "SOURCE",
        "TAG",
        "TRANSFORM",
        "TRIGGER_SUBSCRIPTION",
        "WORKFLOW",
    }
)
REQUIRED_SCOPE = "sp:config"
FAILURE_MESSAGE = "java.lang.IllegalStateException: Export of SOURCE objects timed out after 3600 seconds"


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error(ex: Exchange, status: int, text: str, headers: dict[str, str] | None = None) -> None:
    detail = {400: "400.1 Bad Request Content", 403: "403 Forbidden", 404: "404 Not found"}.get(
        status, f"{status} Error"
    )
    body = {
        "detailCode": detail,
        "trackingId": uuid.uuid4().hex,
        "messages": [{"locale": "en-US", "localeOrigin": "DEFAULT", "text": ex.echoed(text)}],
        "causes": [],
    }
    ex.send_json(status, body, headers)


def rate_limited(ex: Exchange, wait_s: float) -> None:
    ex.send_json(429, {"message": ex.echoed(" Rate Limit Exceeded ")}, {"Retry-After": str(max(1, math.ceil(wait_s)))})


def base_url(origin: str) -> str:
    return f"{origin}/beta"


def fault_response(ex: Exchange, state: SimState, fault: Fault) -> None:
    headers = lifecycle.fault_headers(fault)
    if fault.body is not None:
        ex.send_json(fault.status or 500, fault.body, headers)
    elif fault.status == 429:
        ex.send_json(429, {"message": ex.echoed(" Rate Limit Exceeded ")}, headers)
    else:
        error(ex, fault.status or 500, "An internal fault occurred.", headers)


def route_of(ex: Exchange) -> str | None:
    parts = ex.segments
    if parts == ["oauth", "token"] and ex.method == "POST":
        return "sp.token"
    if len(parts) < 3 or parts[0] not in VERSIONS or parts[1:3] != ["sp-config", "export"]:
        return None
    rest = parts[3:]
    if not rest and ex.method == "POST":
        return "sp.create"
    if len(rest) == 1 and ex.method == "GET":
        return "sp.status"
    if len(rest) == 2 and rest[1] == "download" and ex.method == "GET":
        return "sp.download"
    return None


def token(ex: Exchange, state: SimState) -> None:
    form = {key: values[-1] for key, values in parse_qs(ex.body().decode(errors="replace")).items()}
    client_id = form.get("client_id", "")
    wait = state.rate_limited(f"token:{client_id}")
    if wait is not None:
        rate_limited(ex, wait)
        return
    if form.get("grant_type") != "client_credentials":
        ex.send_json(
            400, {"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"}
        )
        return
    client = state.config.sailpoint_clients.get(client_id)
    if client is None or client.get("secret") != form.get("client_secret"):
        ex.send_json(401, {"error": "invalid_client", "error_description": ex.echoed("Bad credentials")})
        return
    value, ttl = state.issue_sailpoint_token(client_id)
    scope = " ".join(client.get("scopes", []))
    ex.send_json(200, {"access_token": value, "token_type": "bearer", "expires_in": int(ttl), "scope": scope})


def authorize(ex: Exchange, state: SimState) -> str | None:
    """The client id behind a valid bearer token, or None after answering 401/403."""
    presented = ex.bearer()
    with state.lock:
        grant = state.sp_tokens.get(presented or "")
    if grant is None:
        ex.send_json(401, {"error": "JWT validation failed: JWT is missing or invalid"})
        return None
    if utcnow() >= grant[1]:
        ex.send_json(401, {"error": "JWT validation failed: JWT is expired"})
        return None
    client = state.config.sailpoint_clients.get(grant[0], {})
    if REQUIRED_SCOPE not in client.get("scopes", []):
        error(ex, 403, "The server understood the request but refuses to authorize it.")
        return None
    return grant[0]


def handle(ex: Exchange, state: SimState, route: str) -> None:
    if route == "sp.token":
        token(ex, state)
        return
    client_id = authorize(ex, state)
    if client_id is None:
        return
    wait = state.rate_limited(f"api:{client_id}:{ex.segments[0]}")
    if wait is not None:
        rate_limited(ex, wait)
    elif route == "sp.create":
        create(ex, state)
    elif route == "sp.status":
        status(ex, state, ex.segments[3])
    else:
        download(ex, state, ex.segments[3])


def status_of(job: Job, state: SimState, now: datetime) -> str:
    if job.finished(state.config, now):
        return "FAILED" if job.will_fail else "COMPLETE"
    return "IN_PROGRESS" if job.polls > 0 else "NOT_STARTED"


def job_body(ex: Exchange, job: Job, status: str) -> dict[str, Any]:
    done = status in ("COMPLETE", "FAILED", "CANCELLED")
    return {
        "jobId": job.job_id,
        "status": status,
        "type": "EXPORT",
        "message": ex.echoed(FAILURE_MESSAGE) if status == "FAILED" else None,
        "description": job.params.get("description"),
        "expiration": iso(job.expires_at),
        "created": iso(job.created),
        "modified": iso(job.finished_at or job.created),
        "completed": iso(job.finished_at) if done else None,
    }


def create(ex: Exchange, state: SimState) -> None:
    try:
        body = ex.json_body()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        error(ex, 400, "The request body must be a JSON object.")
        return
    requested = [*(body.get("includeTypes") or []), *(body.get("excludeTypes") or [])]
    requested += list((body.get("objectOptions") or {}).keys())
    unknown = sorted({str(t) for t in requested} - OBJECT_TYPES)
    if unknown:
        error(ex, 400, f"java.lang.IllegalArgumentException: Supplied types are not supported: [{', '.join(unknown)}]")
        return
    now = utcnow()
    job = Job(
        "sailpoint",
        state.new_job_id("sailpoint"),
        now,
        state.take_fail_flag(),
        state.config.never_finish,
        {"description": body.get("description"), "options": body},
    )
    state.add_job(job)
    ex.send_json(202, job_body(ex, job, "NOT_STARTED"))


def find(ex: Exchange, state: SimState, job_id: str) -> Job | None:
    return lifecycle.find_or_404(
        state, "sailpoint", job_id, lambda: error(ex, 404, f"Export job {job_id} was not found.")
    )


def status(ex: Exchange, state: SimState, job_id: str) -> None:
    job = find(ex, state, job_id)
    if job is None:
        return
    current = lifecycle.poll(state, job, status_of)
    headers = lifecycle.retry_after_header(
        state.config.sailpoint_retry_after_s, current in ("NOT_STARTED", "IN_PROGRESS")
    )
    ex.send_json(200, job_body(ex, job, current), headers)


def download(ex: Exchange, state: SimState, job_id: str) -> None:
    job = find(ex, state, job_id)
    if job is None:
        return
    current = lifecycle.peek(state, job, status_of)
    if current != "COMPLETE":
        error(ex, 400, f"Export job {job_id} is {current}; only COMPLETE jobs can be downloaded.")
        return
    if lifecycle.expired(job):
        error(ex, 404, f"The results of export job {job_id} have expired.")
        return
    cfg = state.config
    lifecycle.send_result(
        ex,
        state,
        sailpoint_chunks(job_id, cfg.content_size, cfg.chunk_size),
        content_type="application/json",
        length=None,
    )
