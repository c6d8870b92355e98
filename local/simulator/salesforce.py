"""Salesforce Bulk API 2.0 query jobs, with the OAuth 2.0 client credentials token endpoint, as the Bulk API 2.0
developer guide and the OAuth reference show them.

The token response names the org's API base in `instance_url` (here this simulator's own origin, or
`salesforce_instance_url` to test a client's host check). Create answers 200 with the job (`state:
UploadComplete`); the state goes `UploadComplete` → `InProgress` → `JobComplete` | `Failed` (+ `errorMessage`) |
`Aborted`, with no poll hint. Results are CSV pages, each with its own header row: `Sforce-Locator` names the next
page and is the literal `null` on the last one, `Sforce-NumberOfRecords` counts the page's rows; a page is sent
chunked, and gzip-encoded when the request accepts gzip. Reading results
with another API version than the create's is 409. Abort is `PATCH {"state": "Aborted"}`, delete is `DELETE`;
after the retention (`Simulator.expire`) a job is gone: 404 everywhere. Errors are a JSON array of
`{"errorCode", "message"}`.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from local.simulator import lifecycle
from local.simulator.config import FIXTURE_SALESFORCE_TOKEN
from local.simulator.content import job_file, seed_of, table_csv
from local.simulator.exchange import Exchange
from local.simulator.state import Fault, Grant, Job, SimState, utcnow

name = "salesforce"
routes = ("sf.token", "sf.create", "sf.status", "sf.results", "sf.abort", "sf.delete")
AUDIENCE = "salesforce"
VERSION = re.compile(r"^v(\d{2})\.0$")
OLDEST, NEWEST = 47, 66  # Bulk API 2.0 query jobs exist from v47.0
SOQL = re.compile(r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>[A-Za-z_][A-Za-z0-9_]*)\b", re.I | re.S)
FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,79}$")
SESSION_TTL_S = 2 * 3600.0
ORG_ID, USER_ID = "00Dsim0000000001AAA", "005sim0000000001AAA"
TERMINAL = ("JobComplete", "Failed", "Aborted")


def base_url(origin: str) -> str:
    return origin


def install_fixtures(state: SimState) -> None:
    state.grants[FIXTURE_SALESFORCE_TOKEN] = Grant(AUDIENCE)


def sf_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def error(ex: Exchange, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
    ex.send_json(status, [{"errorCode": code, "message": ex.echoed(message)}], headers)


FAULT_WORDS = {
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    429: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
}
OTHER_FAULT = ("SERVER_UNAVAILABLE", "The server is temporarily unavailable.")


def fault_response(ex: Exchange, state: SimState, fault: Fault) -> None:
    lifecycle.send_fault(ex, fault, error, FAULT_WORDS, OTHER_FAULT)


def route_of(ex: Exchange) -> str | None:
    parts = ex.segments
    if parts == ["services", "oauth2", "token"] and ex.method == "POST":
        return "sf.token"
    if parts[:2] != ["services", "data"] or parts[3:5] != ["jobs", "query"] or len(parts) < 5:
        return None
    rest = parts[5:]
    if not rest:
        return {"POST": "sf.create"}.get(ex.method)
    if len(rest) == 1:
        return {"GET": "sf.status", "PATCH": "sf.abort", "DELETE": "sf.delete"}.get(ex.method)
    if len(rest) == 2 and rest[1] == "results" and ex.method == "GET":
        return "sf.results"
    return None


def handle(ex: Exchange, state: SimState, route: str) -> None:
    if route == "sf.token":
        token(ex, state)
        return
    version = ex.segments[2]
    match = VERSION.match(version)
    if match is None or not OLDEST <= int(match.group(1)) <= NEWEST:
        error(ex, 404, "NOT_FOUND", "The requested resource does not exist")
        return
    grant = state.grant_for(ex.bearer(), AUDIENCE)
    if grant is None or not grant.valid(utcnow()):
        error(ex, 401, "INVALID_SESSION_ID", "Session expired or invalid")
        return
    if route == "sf.create":
        create(ex, state, version)
        return
    job = find(ex, state, ex.segments[5])
    if job is None:
        return
    if route == "sf.status":
        status(ex, state, job)
    elif route == "sf.results":
        results(ex, state, job, version)
    elif route == "sf.abort":
        abort(ex, state, job)
    else:
        delete(ex, state, job)


def token(ex: Exchange, state: SimState) -> None:
    form = {key: values[-1] for key, values in parse_qs(ex.body().decode(errors="replace")).items()}
    if form.get("grant_type") != "client_credentials":
        ex.send_json(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
        return
    client = state.config.salesforce_clients.get(form.get("client_id", ""))
    if client is None or client.get("secret") != form.get("client_secret"):
        ex.send_json(400, {"error": "invalid_client", "error_description": ex.echoed("invalid client credentials")})
        return
    now = utcnow()
    grant = Grant(AUDIENCE, frozenset({"api"}), now + timedelta(seconds=SESSION_TTL_S), form["client_id"])
    access = state.issue_grant(f"{ORG_ID}!", grant)
    instance = state.config.salesforce_instance_url or ex.origin
    body = {
        "access_token": access,
        "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
        "scope": "api",
        "instance_url": instance,
        "id": f"{ex.origin}/id/{ORG_ID}/{USER_ID}",
        "token_type": "Bearer",
        "issued_at": str(int(now.timestamp() * 1000)),
    }
    ex.send_json(200, body)


def new_job_id() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "750" + "".join(secrets.choice(alphabet) for _ in range(15))


def create(ex: Exchange, state: SimState, version: str) -> None:
    try:
        body = ex.json_body()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        error(ex, 400, "JSON_PARSER_ERROR", "The request body must be a JSON object.")
        return
    operation = body.get("operation", "query")
    query = body.get("query")
    soql = SOQL.match(query) if isinstance(query, str) else None
    fields = [f.strip() for f in soql.group("fields").split(",")] if soql else []
    if operation not in ("query", "queryAll"):
        error(ex, 400, "INVALIDJOB", "operation must be query or queryAll")
    elif soql is None or not all(FIELD.match(f) for f in fields):
        error(ex, 400, "INVALIDJOB", "query must be a SOQL SELECT of plain fields")
    elif body.get("contentType", "CSV") != "CSV":
        error(ex, 400, "INVALIDJOB", "contentType must be CSV")
    elif body.get("columnDelimiter", "COMMA") != "COMMA" or body.get("lineEnding", "LF") not in ("LF", "CRLF"):
        error(ex, 400, "INVALIDJOB", "columnDelimiter must be COMMA and lineEnding LF or CRLF")
    else:
        assert soql is not None
        params = {
            "version": version,
            "operation": operation,
            "object": soql.group("object"),
            "fields": fields,
            "lineEnding": body.get("lineEnding", "LF"),
            "records": state.config.salesforce_records,
        }
        job = Job(name, new_job_id(), utcnow(), state.take_fail_flag(), state.config.never_finish, params)
        state.add_job(job, ttl_s=state.config.salesforce_retention_s)
        ex.send_json(200, info(job, "UploadComplete"))


def find(ex: Exchange, state: SimState, job_id: str) -> Job | None:
    def gone() -> None:
        error(ex, 404, "NOT_FOUND", "The requested resource does not exist")

    job = lifecycle.find_or_404(state, name, job_id, gone)
    if job is not None and lifecycle.expired(job):  # past the retention, the job and its results are deleted
        gone()
        return None
    return job


def status_of(job: Job, state: SimState, now: datetime) -> str:
    if job.outcome == "aborted":
        return "Aborted"
    if job.finished(state.config, now):
        return "Failed" if job.will_fail else "JobComplete"
    return "InProgress" if job.polls > 0 else "UploadComplete"


def info(job: Job, state_word: str, *, full: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": job.job_id,
        "operation": job.params["operation"],
        "object": job.params["object"],
        "createdById": USER_ID,
        "createdDate": sf_time(job.created),
        "systemModstamp": sf_time(job.finished_at or job.created),
        "state": state_word,
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(job.params["version"][1:]),
        "lineEnding": job.params["lineEnding"],
        "columnDelimiter": "COMMA",
    }
    if full:
        done = state_word == "JobComplete"
        body |= {
            "jobType": "V2Query",
            "numberRecordsProcessed": job.params["records"] if done else 0,
            "retries": 0,
            "totalProcessingTime": 1250 if done else 0,
        }
        if state_word == "Failed":
            body["errorMessage"] = job.params["failure"]
    return body


def status(ex: Exchange, state: SimState, job: Job) -> None:
    current = lifecycle.poll(state, job, status_of)
    job.params.setdefault("failure", ex.echoed(state.config.salesforce_failure_message))
    ex.send_json(200, info(job, current, full=True))


def _offset(locator: str) -> int | None:
    try:
        value = int(base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return value if value >= 0 else None


def results(ex: Exchange, state: SimState, job: Job, version: str) -> None:
    if version != job.params["version"]:
        message = f"Results must be read with the API version that created the job ({job.params['version']})"
        error(ex, 409, "INVALIDJOB", message)
        return
    if lifecycle.peek(state, job, status_of) != "JobComplete":
        error(ex, 400, "INVALIDJOB", "Results are available only for jobs in state JobComplete")
        return
    locator = ex.query.get("locator") or ""
    offset = _offset(locator) if locator else 0
    limit_text = ex.query.get("maxRecords")
    limit = int(limit_text) if limit_text and limit_text.isdigit() else None
    if offset is None or (limit_text is not None and not limit):
        error(ex, 400, "INVALIDLOCATOR" if offset is None else "INVALIDJOB", "Invalid locator or maxRecords")
        return
    total = job.params["records"]
    count = max(0, min(limit or state.config.salesforce_page_records, total - offset))
    following = offset + count
    next_locator = base64.b64encode(str(following).encode()).decode().rstrip("=") if following < total else "null"
    ending = "\r\n" if job.params["lineEnding"] == "CRLF" else "\n"
    headers = {"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(count)}
    gzipped = "gzip" in (ex.header("Accept-Encoding") or "").lower()  # the guide: gzip when asked, sent chunked
    if gzipped:
        headers["Content-Encoding"] = "gzip"

    def page() -> bytes:
        data = table_csv(seed_of(job.job_id), job.params["fields"], offset, count, ending)
        return gzip.compress(data, mtime=0) if gzipped else data

    cfg = state.config
    if cfg.content_file_dir and not cfg.content_bytes_per_s and not state.has_fault(ex.route, drop=True):
        # the benchmark's: each page (compressed as asked) written once, then sent with sendfile
        file_name = f"page-{offset:012d}-{count}-{len(ending)}{'.gz' if gzipped else ''}"
        path = job_file(Path(cfg.content_file_dir), name, job.job_id, file_name, page)
        ex.send_file(200, "text/csv; charset=UTF-8", path, headers=headers, chunked=True)
        return
    data = page()
    chunks = lifecycle.chunked(data, state.config.chunk_size)
    lifecycle.send_result(ex, state, chunks, content_type="text/csv; charset=UTF-8", length=None, headers=headers)


def abort(ex: Exchange, state: SimState, job: Job) -> None:
    try:
        body = ex.json_body()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("state") != "Aborted":
        error(ex, 400, "INVALIDJOB", "A query job can only be set to state Aborted")
        return
    with state.lock:
        current = status_of(job, state, utcnow())
        if current in TERMINAL:
            error(ex, 400, "INVALIDJOB", f"Job is already in state {current}; it cannot be aborted")
            return
        job.outcome, job.finished_at = "aborted", utcnow()
    ex.send_json(200, info(job, "Aborted"))


def delete(ex: Exchange, state: SimState, job: Job) -> None:
    with state.lock:
        current = status_of(job, state, utcnow())
        if current == "InProgress":
            error(ex, 400, "INVALIDJOB", "A job in progress cannot be deleted; abort it first")
            return
        job.deleted = True
    ex.send_empty(204)
