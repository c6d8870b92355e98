"""Instance ids that make a duplicate trigger land on the same orchestration instead of a second export.

The id is a function of the target and the run key (a schedule slot, or a
caller's idempotency key), readable, and free of the characters Durable
Functions forbids in instance ids.
"""

from __future__ import annotations

import hashlib
import re


def export_instance_id(target: str, run_key: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", run_key).strip("-")[:40] or "run"
    digest = hashlib.sha256(f"{target}\0{run_key}".encode()).hexdigest()[:12]
    return f"export-{target}-{slug}-{digest}"
