"""The previous release's scheduler (round-robin lanes), kept under its registered names until its instances end.

The claiming scheduler (`orchestrators.scheduled_exports`) takes other inputs than the one it replaced: a lane
of the previous release holds its exports in its input, one of today's holds a plan id and a claim number. Had
the new code kept the old names, a parent or lane still running at deploy time would replay its history through
it, fail to decode its input, and strand the exports it had not started yet until a later tick. So the new
scheduler runs under new names (`..._v2` in `orchestrators.names`) and this module keeps the previous release's
parent and lane, unchanged in behaviour, under the old ones (`SCHEDULED_EXPORTS_ORCHESTRATION_V1`,
`SCHEDULED_EXPORTS_LANE_V1`): an old instance replays the same actions it recorded and runs its remaining exports.
Nothing starts them any more; the timer tick only counts a running one as a working scheduler (no new scheduler
starts beside it).

The code is the previous release's (commit bd26a51), with one difference the host allows: the exports it starts
get today's versioned `ExportInput` (the host checks a replayed sub-orchestration's name, not its input). A
target the previous release accepted but today's validation refuses is handed on as that release wrote it, so
the export fails on its own (the lane records "failed" and goes on) rather than the lane failing, and the lane's
actions stay the ones its history recorded. `tests/orchestrators/test_scheduler_upgrade.py` resumes a parent and
a lane recorded by that release mid-run (`tests/orchestrators/histories/record.py`) to completion on this code.

When to delete this module (with its two names and their entries in the tables): once no instance of the previous
release is left, i.e. when the Durable instance query (`GET /runtime/webhooks/durabletask/instances` with the
system key and `runtimeStatus=Running,Pending,Suspended,ContinuedAsNew`, or the portal's orchestration list) shows
no instance named `scheduled_exports_orchestrator` or `scheduled_exports_lane`. The previous release's lanes end
after their last export (hours at most: an export's deadline is `poll.deadline_s`); terminating them is the
other way, and leaves their running exports to finish.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from typing import Any

from orchestrators import names
from orchestrators.export_state import ExportInput

Context = Any
Steps = Generator[Any, Any, dict[str, str]]


class LaneFailed(Exception):
    """A lane ended without its summary (terminated, or a bug); the other lanes are not affected."""


def deal_lanes(exports: list[dict[str, Any]], lanes: int) -> list[list[dict[str, Any]]]:
    """Round-robin: lane n gets exports n, n+K, n+2K...; no empty lanes."""
    count = max(1, min(lanes, len(exports)))
    return [exports[n::count] for n in range(count)] if exports else []


def lane_instance_id(parent_id: str, lane: int, exports: list[dict[str, Any]]) -> str:
    """Deterministic, and distinct for every tick's plan (its export ids differ), so lanes never collide."""
    digest = hashlib.sha256("\0".join(e["instance_id"] for e in exports).encode()).hexdigest()[:12]
    return f"{parent_id}-lane-{lane}-{digest}"


def export_input(item: dict[str, Any]) -> dict[str, Any]:
    """Today's input for one export of an old plan; the old shape if today's validation refuses its target."""
    try:
        return ExportInput(target=item["target"], run_key=item["run_key"]).to_dict()
    except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
        return {"target": item["target"], "run_key": item["run_key"], "state": None}


def scheduled_exports_orchestrator(context: Context) -> Steps:
    """Input: {"exports": [{"target": {...}, "run_key": str, "instance_id": str}], "max_in_flight": int}."""
    plan = context.get_input()
    lanes = deal_lanes(list(plan["exports"]), max(1, int(plan.get("max_in_flight") or 1)))
    context.set_custom_status({"exports": sum(map(len, lanes)), "lanes": len(lanes)})
    if not lanes:
        return {}
    tasks = [
        context.call_sub_orchestrator(
            names.SCHEDULED_EXPORTS_LANE_V1, {"exports": lane}, lane_instance_id(context.instance_id, n, lane)
        )
        for n, lane in enumerate(lanes)
    ]
    try:
        results = yield context.task_all(tasks)
    except Exception as exc:
        reason = str(exc).split("\n", 1)[0].strip()
        message = f"a scheduler lane did not finish ({reason}); the other lanes go on with their exports"
        raise LaneFailed(message) from None
    outcomes: dict[str, str] = {}
    for lane_outcomes in results:
        outcomes.update(lane_outcomes)
    return outcomes


def scheduled_exports_lane(context: Context) -> Steps:
    """Input: {"exports": [...]}; runs them one after the other and maps instance id -> outcome."""
    exports = list(context.get_input()["exports"])
    outcomes: dict[str, str] = {}
    for item in exports:
        context.set_custom_status({"done": len(outcomes), "of": len(exports), "running": item["instance_id"]})
        try:
            yield context.call_sub_orchestrator(names.EXPORT_ORCHESTRATION, export_input(item), item["instance_id"])
            outcomes[item["instance_id"]] = "succeeded"
        except Exception:  # the export's own status and event say why; the lane goes on
            outcomes[item["instance_id"]] = "failed"
    context.set_custom_status({"done": len(outcomes), "of": len(exports), "running": None})
    return outcomes


ORCHESTRATORS = {
    names.SCHEDULED_EXPORTS_ORCHESTRATION_V1: scheduled_exports_orchestrator,
    names.SCHEDULED_EXPORTS_LANE_V1: scheduled_exports_lane,
}
