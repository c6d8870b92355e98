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


# Exactly what `export_instance_id` produces for a valid target name (see targets.model.TARGET_NAME): nothing
# that could change the meaning of a management URL ('/', '?', '#', '%', whitespace) can match.
EXPORT_INSTANCE_ID = re.compile(r"^export-[a-z0-9][a-z0-9_-]{0,62}-[A-Za-z0-9_.-]{1,40}-[0-9a-f]{12}$")


def is_export_instance_id(value: str) -> bool:
    return EXPORT_INSTANCE_ID.fullmatch(value) is not None
