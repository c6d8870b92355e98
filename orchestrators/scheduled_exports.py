"""A timer tick's exports, at most K upstream jobs at once.

A cap on function executions would not cap upstream jobs: an export asleep on
a durable timer is not executing, yet its job is running upstream. So the cap
lives here: this parent keeps at most `max_in_flight` export
sub-orchestrations going and starts the next one only when one finishes.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from orchestrators import names
from orchestrators.export_state import ExportInput

Context = Any


def scheduled_exports_orchestrator(context: Context) -> Generator[Any, Any, dict[str, str]]:
    """Input: {"exports": [{"target": {...}, "run_key": str, "instance_id": str}], "max_in_flight": int}."""
    plan = context.get_input()
    limit = max(1, int(plan.get("max_in_flight") or 1))
    waiting = list(plan["exports"])
    running: dict[str, Any] = {}
    outcomes: dict[str, str] = {}
    while waiting or running:
        while waiting and len(running) < limit:
            item = waiting.pop(0)
            child_input = ExportInput(target=item["target"], run_key=item["run_key"]).to_dict()
            running[item["instance_id"]] = context.call_sub_orchestrator(
                names.EXPORT_ORCHESTRATION, child_input, item["instance_id"]
            )
        context.set_custom_status({"running": len(running), "waiting": len(waiting), "done": len(outcomes)})
        finished = yield context.task_any(list(running.values()))
        for instance_id, task in list(running.items()):
            if task is finished:
                outcomes[instance_id] = "failed" if isinstance(task.result, Exception) else "succeeded"
                del running[instance_id]
    return outcomes
