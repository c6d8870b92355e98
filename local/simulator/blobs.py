"""The second loopback origin: a stand-in for Azure Blob Storage serving read-only SAS URLs.

Intune and cost details hand out result links on `*.blob.core.windows.net`, another origin than the API's, to be
read with the SAS in the query and no bearer token. This listener serves such links on another port of the
loopback address (another origin), checks the SAS signature and expiry as Storage would, and answers a request
that carries an `Authorization` header with 403 `AuthenticationFailed` (Storage tries to authenticate the header
and cannot with an API's token), so a client that leaks the API's token here fails, and the request log
(`origin == "blob"`, `had_authorization`) shows it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from local.simulator import lifecycle
from local.simulator.exchange import Exchange
from local.simulator.state import Fault, SimState, utcnow

SAS_VERSION = "2022-11-02"
SIGNING_KEY = b"simulator-sas-signing"


@dataclass(frozen=True)
class StoredBlob:
    route: str  # the download route of the API whose result this is (the key of its fault switches and log)
    job_id: str
    content_type: str
    body: Callable[[], bytes]
    path: Path | None = None  # the same bytes as a file written ahead (`content_file_dir`): sent with sendfile


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _signature(path: str, expiry: str) -> str:
    digest = hmac.new(SIGNING_KEY, f"r\n{expiry}\n{path}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def publish(state: SimState, path: str, blob: StoredBlob, expires_at: datetime) -> str:
    """Store `blob` at `path` on the blob origin; its read-only SAS URL, valid until `expires_at`."""
    with state.lock:
        state.blobs[path] = blob
    expiry = _iso(expires_at)
    sig = quote(_signature(path, expiry), safe="")
    return f"{state.blob_origin}{path}?sv={SAS_VERSION}&se={quote(expiry, safe='')}&sr=b&sp=r&sig={sig}"


def route_of(ex: Exchange, state: SimState) -> str:
    with state.lock:
        blob = state.blobs.get(ex.raw_path)
    return blob.route if isinstance(blob, StoredBlob) else "blob.unknown"


def error(ex: Exchange, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
    body = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    ex.send_bytes(status, "application/xml", body.encode(), {"x-ms-error-code": code, **(headers or {})})


def fault_response(ex: Exchange, state: SimState, fault: Fault) -> None:
    code = "ServerBusy" if fault.status in (429, 503) else "InternalError"
    error(ex, fault.status or 500, code, "The server is busy.", lifecycle.fault_headers(fault))


def handle(ex: Exchange, state: SimState) -> None:
    with state.lock:
        blob = state.blobs.get(ex.raw_path)
    if not isinstance(blob, StoredBlob):
        error(ex, 404, "BlobNotFound", "The specified blob does not exist.")
        return
    if ex.method != "GET":
        error(ex, 403, "AuthorizationPermissionMismatch", "This SAS grants read access only.")
        return
    if ex.header("Authorization") is not None:
        error(ex, 403, "AuthenticationFailed", "Server failed to authenticate the request.")
        return
    expiry = ex.query.get("se", "")
    if not hmac.compare_digest(ex.query.get("sig", ""), _signature(ex.raw_path, expiry)):
        error(ex, 403, "AuthenticationFailed", "Signature did not match.")
        return
    job = state.jobs.get(blob.job_id)
    if expiry <= _iso(utcnow()) or job is None or lifecycle.expired(job):
        error(ex, 403, "AuthenticationFailed", "Signature not valid in the specified time frame.")
        return
    cfg = state.config
    if blob.path and cfg.content_file_dir and not cfg.content_bytes_per_s and not state.has_fault(ex.route, drop=True):
        ex.send_file(200, blob.content_type, blob.path)
        return
    data = blob.body()
    chunks = lifecycle.chunked(data, state.config.chunk_size)
    lifecycle.send_result(ex, state, chunks, content_type=blob.content_type, length=len(data))
