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


def job_key(job_id: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", job_id).strip("-_")[:SLUG_MAX] or "job"
    digest = hashlib.sha256(job_id.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]
    return f"{slug}-{digest}"


def _target(target: str) -> str:
    if not TARGET_NAME.match(target):
        raise ValueError(f"target name {target!r} is not a safe blob path segment")
    return target


def content_blob_name(target: str, job_id: str, content_type: str) -> str:
    extension = EXTENSIONS.get(content_type.split(";")[0].strip().lower(), ".bin")
    return f"{_target(target)}/{job_key(job_id)}/content{extension}"


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
