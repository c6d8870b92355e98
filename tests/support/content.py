"""The sha256 of what the simulator serves for a job, recomputed without keeping the bytes."""

from __future__ import annotations

import hashlib

from local.simulator import expected_content


def expected_sha256(api: str, job_id: str, size: int) -> str:
    digest = hashlib.sha256()
    for chunk in expected_content(api, job_id, size):
        digest.update(chunk)
    return digest.hexdigest()
