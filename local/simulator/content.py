"""Deterministic export contents, generated while streaming so any size costs no memory.

A content is a pure function of (api, job id, size): tests recompute its
sha256 with `expected_content` instead of keeping a copy. Graph's CSV rows are
fixed-width so the exact length is known up front (Content-Length); SailPoint's
JSON is sent chunked, like a server that does not know the length.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

CSV_HEADER = b"Title,Owner,Progress,Status,Due date,Row\n"
SAILPOINT_TYPES_CYCLE = ("SOURCE", "RULE", "TRANSFORM", "IDENTITY_PROFILE", "ROLE", "ACCESS_PROFILE")


def _seed(job_id: str) -> str:
    return hashlib.sha256(job_id.encode()).hexdigest()[:12]


def _csv_row(seed: str, index: int) -> bytes:
    return (
        f"Objective {index:010d} {seed},Owner {index % 37:02d},{index % 101:03d}%,"
        f"{('On track', 'At risk', 'Behind')[index % 3]:<8},"
        f"2026-{index % 12 + 1:02d}-{index % 28 + 1:02d},{index:010d}\n"
    ).encode()


def csv_length(job_id: str, size: int) -> int:
    row = len(_csv_row(_seed(job_id), 0))
    rows = max(1, -(-(size - len(CSV_HEADER)) // row))
    return len(CSV_HEADER) + rows * row


def csv_chunks(job_id: str, size: int, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    seed = _seed(job_id)
    total = csv_length(job_id, size)
    buffer = bytearray(CSV_HEADER)
    sent, index = 0, 0
    while sent + len(buffer) < total:
        while len(buffer) < chunk_size and sent + len(buffer) < total:
            buffer += _csv_row(seed, index)
            index += 1
        yield bytes(buffer)
        sent += len(buffer)
        buffer.clear()
    if buffer:
        yield bytes(buffer)


def _sailpoint_object(seed: str, index: int) -> bytes:
    kind = SAILPOINT_TYPES_CYCLE[index % len(SAILPOINT_TYPES_CYCLE)]
    obj_id = hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()[:32]
    item: dict[str, object] = {
        "version": 1,
        "self": {"type": kind, "id": obj_id, "name": f"{kind.title()} {index}"},
        "object": {"id": obj_id, "name": f"{kind.title()} {index}", "description": f"Simulated {kind} {seed}"},
    }
    if kind == "RULE":
        item["jwsHeader"] = "eyJhbGciOiJFUzI1NiJ9"
        item["jwsSignature"] = hashlib.sha256(f"sig:{obj_id}".encode()).hexdigest()
    return json.dumps(item, separators=(",", ":")).encode()


def sailpoint_chunks(job_id: str, size: int, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    seed = _seed(job_id)
    head = {
        "version": 1,
        "timestamp": "2026-01-01T00:00:00Z",
        "tenant": "sim-tenant",
        "description": f"Simulated export {seed}",
        "options": {"excludeTypes": [], "includeTypes": [], "objectOptions": {}},
    }
    buffer = bytearray(json.dumps(head, separators=(",", ":"))[:-1].encode() + b',"objects":[')
    sent, index = 0, 0
    while sent + len(buffer) < size or index == 0:
        buffer += (b"," if index else b"") + _sailpoint_object(seed, index)
        index += 1
        if len(buffer) >= chunk_size:
            yield bytes(buffer)
            sent += len(buffer)
            buffer.clear()
    yield bytes(buffer + b"]}")


def expected_content(api: str, job_id: str, size: int, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """The exact bytes the simulator serves for a job: api is "graph" or "sailpoint"."""
    if api == "graph":
        return csv_chunks(job_id, size, chunk_size)
    if api == "sailpoint":
        return sailpoint_chunks(job_id, size, chunk_size)
    raise ValueError(f"unknown api {api!r}: expected 'graph' or 'sailpoint'")
