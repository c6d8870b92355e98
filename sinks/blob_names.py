"""Deterministic, safe blob names per target and upstream job.

Upstream job ids are opaque and may hold anything (`j!eyJ...`, slashes, dots,
unicode, kilobytes of text). The name keeps a short readable slug for people
and a hash of the full id so that two ids never share a blob, and nothing
like `..`, `/` or a control character ever reaches the path.
"""

from __future__ import annotations

import hashlib
import re

TARGET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
EXTENSIONS = {"text/csv": ".csv", "application/json": ".json"}
SLUG_MAX = 40
MAX_PARTS = 99_999  # five digits: a result of more parts is refused (the page cap of the engine is lower)


def job_key(job_id: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", job_id).strip("-_")[:SLUG_MAX] or "job"
    digest = hashlib.sha256(job_id.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]
    return f"{slug}-{digest}"


def _target(target: str) -> str:
    if not TARGET_NAME.match(target):
        raise ValueError(f"target name {target!r} is not a safe blob path segment")
    return target


def content_blob_name(target: str, job_id: str, content_type: str) -> str:
    return f"{_target(target)}/{job_key(job_id)}/content{_extension(content_type)}"


def _extension(content_type: str) -> str:
    return EXTENSIONS.get(content_type.split(";")[0].strip().lower(), ".bin")


def part_blob_name(target: str, job_id: str, index: int, content_type: str) -> str:
    """Part `index` (1-based) of a multi-part result: `part-00001.csv`, ... under the export's prefix."""
    if not 1 <= index <= MAX_PARTS:
        raise ValueError(f"part {index} is out of range 1..{MAX_PARTS}")
    return f"{export_prefix(target, job_id)}part-{index:05d}{_extension(content_type)}"


def export_prefix(target: str, job_id: str) -> str:
    """Where every blob of one export lives (its content or parts, and its manifest)."""
    return f"{_target(target)}/{job_key(job_id)}/"


def manifest_blob_name(target: str, job_id: str) -> str:
    return f"{_target(target)}/{job_key(job_id)}/manifest.json"


def latest_blob_name(target: str) -> str:
    return f"{_target(target)}/latest.json"


def claims_prefix(target: str) -> str:
    return f"{_target(target)}/claims/"


def claim_blob_name(target: str, instance_id: str) -> str:
    """Which upstream job one orchestration instance polls: one small blob per instance (see sinks.job_claims)."""
    return (
        claims_prefix(target) + hashlib.sha256(instance_id.encode("utf-8", "surrogatepass")).hexdigest()[:32] + ".json"
    )
