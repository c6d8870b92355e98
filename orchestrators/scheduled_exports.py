"""A timer tick's exports, at most K upstream jobs at once, as K sequential lanes.

A cap on function executions would not cap upstream jobs: an export asleep on
a durable timer is not executing, yet its job is running upstream. So the cap
lives here, in orchestrations: the parent splits the due exports into K lanes
(K = `max_in_flight`), starts one lane sub-orchestration per lane and waits
for all of them with ONE `task_all` over tasks it has never yielded before.
Each lane starts its exports one after the other, each a new
`call_sub_orchestrator` yielded once, so at most K exports (and K upstream
jobs) run at once, and K run whenever K lanes still have work.

Why not the obvious loop ("yield `task_any` over the running children, start
the next")? It yields the same child tasks again and again. Under the real
host (replay schema V3) the SDK lists only not-yet-scheduled children in a
compound action, and the extension's `OutOfProcOrchestrationShim` awaits each
action in turn, so each round waits on the newest child alone: about one
export in flight instead of K. Nothing here relies on re-yielding a task.

Alternatives weighed:
- Children signalling the parent with external events (a work-stealing pool:
  the next export starts on whichever slot frees first, so uneven exports
  never leave a slot idle). The export would need a final activity holding the
  durable client to raise the event, adding an activity binding and a failure
  mode (an event lost or raised twice), and the local runner cannot deliver
  external events, so the cap could not be tested where everything else is.
- Admission control at the timer tick (start at most K exports per tick, more
  at later ticks). The cap then holds only between ticks: a slot stays idle
  until the next tick however early an export finishes, and a 5-minute tick
  with 22-second exports runs far below K.
Lanes need neither: plain sub-orchestrations, each task yielded exactly once.
Their cost is static assignment: the exports are dealt round-robin over the
tick's due list (sorted by target name), so lane sizes differ by at most one
and, with exports of similar length, the lanes end together; a lane that
draws long exports finishes later while others sit idle, which the fan-out
benchmark measures (makespan against the ideal K-wide window).

Kept from before: export instance ids are the singleton ids the tick
computed, so a duplicate tick never starts a second export; a failed export
is recorded and its lane goes on; lanes are independent, so one lane's
failure does not stop the others; the parent's output maps export instance
id -> "succeeded" | "failed"; custom statuses are a few counters.

Termination does not cascade (the Durable host never terminates children):
terminating the parent leaves its lanes running, so they finish all their
exports and only the parent's summary is lost; terminating a lane lets the
export it is running finish, and the lane's later exports never start; the
host reports the terminated lane to the parent as failed, so the parent fails
(naming the lane) while the other lanes go on. The timer tick treats a
still-running lane as a working scheduler, so the cap still holds across
ticks after a termination.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from typing import Any, TypeVar

from orchestrators import names
from orchestrators.contracts import LanePlan, ScheduledExport, SchedulePlan, decode
from orchestrators.export_state import ExportInput

Context = Any
E = TypeVar("E")
Steps = Generator[Any, Any, dict[str, str]]


class LaneFailed(Exception):
    """A lane ended without its summary (terminated, or a bug); the other lanes are not affected."""


def deal_lanes(exports: list[E], lanes: int) -> list[list[E]]:
    """Round-robin: lane n gets exports n, n+K, n+2K...; no empty lanes."""
    count = max(1, min(lanes, len(exports)))
    return [exports[n::count] for n in range(count)] if exports else []


def lane_instance_id(parent_id: str, lane: int, exports: list[ScheduledExport]) -> str:
    """Deterministic, and distinct for every tick's plan (its export ids differ), so lanes never collide."""
    digest = hashlib.sha256("\0".join(e.instance_id for e in exports).encode()).hexdigest()[:12]
    return f"{parent_id}-lane-{lane}-{digest}"


def scheduled_exports_orchestrator(context: Context) -> Steps:
    """Input: a `SchedulePlan` (exports of a target, run key and instance id each; how many at once)."""
    plan = decode(context.get_input(), SchedulePlan, "the scheduler's plan")
    lanes = deal_lanes(list(plan.exports), max(1, plan.max_in_flight or 1))
    context.set_custom_status({"exports": sum(map(len, lanes)), "lanes": len(lanes)})
    if not lanes:
        return {}
    tasks = [
        context.call_sub_orchestrator(
            names.SCHEDULED_EXPORTS_LANE,
            LanePlan(exports=lane).to_json(),
            lane_instance_id(context.instance_id, n, lane),
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
    """Input: a `LanePlan`; runs its exports one after the other and maps instance id -> outcome."""
    exports = decode(context.get_input(), LanePlan, "a scheduler lane's plan").exports
    outcomes: dict[str, str] = {}
    for item in exports:
        context.set_custom_status({"done": len(outcomes), "of": len(exports), "running": item.instance_id})
        child_input = ExportInput(target=item.target, run_key=item.run_key).to_dict()
        try:
            yield context.call_sub_orchestrator(names.EXPORT_ORCHESTRATION, child_input, item.instance_id)
            outcomes[item.instance_id] = "succeeded"
        except Exception:  # the export's own status and event say why; the lane goes on
            outcomes[item.instance_id] = "failed"
    context.set_custom_status({"done": len(outcomes), "of": len(exports), "running": None})
    return outcomes


ORCHESTRATORS = {
    names.SCHEDULED_EXPORTS_ORCHESTRATION: scheduled_exports_orchestrator,
    names.SCHEDULED_EXPORTS_LANE: scheduled_exports_lane,
}
