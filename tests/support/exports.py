"""Start an export with poll settings no targets file would pass, to test what the orchestration does with them.

The targets-file checks refuse absurd or inconsistent poll settings before a run starts; the orchestration
validates its input again (a queued input may predate a change of rules). Tests of that second line of
defence put the settings straight into the orchestration input, which is what this helper does.
"""

from __future__ import annotations

import uuid
from typing import Any

from local.runner import LocalRunner, OrchestrationResult
from orchestrators import names
from orchestrators.export_state import ExportInput
from orchestrators.instance_ids import export_instance_id
from targets import Target
from versioned import stamped


def run_with_poll(target: Target, runner: LocalRunner, **poll: Any) -> OrchestrationResult:
    """Run `target` on `runner` (closed afterwards) with `poll` merged into its input's poll settings."""
    raw = target.to_input()
    raw["poll"] = {**(raw.get("poll") or {}), **poll}
    key = uuid.uuid4().hex
    with runner as active:
        request = stamped({"target": raw, "run_key": key}, ExportInput.SCHEMA_VERSION)  # unvalidated, on purpose
        return active.run(names.EXPORT_ORCHESTRATION, request, export_instance_id(target.name, key))
