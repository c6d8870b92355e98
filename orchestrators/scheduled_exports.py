"""A timer tick's exports, at most K upstream jobs at once: K lanes that claim the next export when free.

Version 2 of the scheduler, registered under the `..._v2` names in `orchestrators.names`: its inputs are not
those of the round-robin scheduler it replaced, which stays under the old names for the runs the previous
release left in flight (`orchestrators.scheduled_exports_v1`).

A cap on function executions would not cap upstream jobs: an export asleep on
a durable timer is not executing, yet its job is running upstream. So the cap
lives here, in orchestrations: the parent records the tick's plan, starts K
lane sub-orchestrations (K = `max_in_flight`) and waits for all of them with
ONE `task_all` over tasks it has never yielded before. Each lane runs one
export at a time, so at most K exports (and K upstream jobs) run at once.

Why not the obvious loop ("yield `task_any` over the running children, start
the next")? It yields the same child tasks again and again. Under the real
host (replay schema V3) the SDK lists only not-yet-scheduled children in a
compound action, and the extension's `OutOfProcOrchestrationShim` awaits each
action in turn, so each round waits on the newest child alone: about one
export in flight instead of K. Nothing here relies on re-yielding a task.

Which export a lane runs next: claimed, not dealt. Dealing the list into
lanes in advance (round-robin, as this module did) pays for uneven exports:
with durations between 5 and 120 minutes, 40 exports at K = 8 took 1.61x the
ideal K-wide window in issue 19's measurement, because a lane that drew long exports ran on while others
sat idle. Dealing longest-first would fix that only when every duration is
known, and a first run knows none. So a free lane claims the next export
through an activity (`sinks.claim_book`), which is a list scheduler: no slot
idles while exports wait, whatever their lengths; what remains is the last
exports claimed, which may be long. And the claim order is longest-first by
each target's last observed duration (its `latest.json` knows when the
upstream job was created and when we stored its result), with targets never
exported yet first: a later run starts the long exports early and fills in
with the short ones. The fan-out benchmark measured, for 40 exports at K = 8,
1.11x the ideal window on a first run and 1.05x on a later one (durations
varying by 10 % between runs), where the round-robin deal of the same lengths
takes 1.35x (docs/benchmarks.md). Claims must survive the host's protocol: an activity may run twice
for one call, so lane n's k-th claim is recorded under (n, k) and answered the
same every time; the lane's history records the answer, so replays never
claim again. External events from children (the other way to hear that a slot
freed) would need the durable client in an activity, and the local runner
cannot deliver them.

A lane's replay cost is flat in the length of the tick: after each export it
continues as new, with an input that holds only the plan id, its lane and
claim numbers and the outcome to report, so its history is one claim and one
export whatever the tick's size. The parent's history is K lanes and three
activities, whatever the tick's size.

Kept from before: export instance ids are the singleton ids the tick
computed, so a duplicate tick never starts a second export; a failed export
is recorded and its lane goes on; the parent's output maps export instance id
-> "succeeded" | "failed" (from the claims, when every lane has ended);
custom statuses are a few counters. Every shape the scheduler hands the host
(its plan, a lane's input, the claim activities' requests and answers, the
custom statuses) is a versioned contract (`orchestrators.scheduler_contracts`).

Termination (the Durable host never cascades it): terminating a lane lets
the export it is running finish (terminating that export would abandon its
upstream job, unseen); the lane claims nothing more, and the exports it would
have run are claimed by the other lanes, so K - 1 lanes and that export keep
the cap at K. The host reports the terminated lane to the parent as failed,
so the parent fails naming it while the other lanes go on. The timer tick
counts a running export of a scheduled target against the next tick's K, so
the cap holds across ticks too. Cancelling the scheduler is terminating
`export-scheduler`: the next timer tick finds it ended while its lanes still
run and closes its plan, so every lane ends after its current export and no
export of that plan starts any more; exports already running run to their end
(cancel one with its own cancel URL); exports that never started are due
again at a later tick.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterable
from typing import Any, TypeVar

import azure.durable_functions as df

from kernel.errors import ExportError
from orchestrators import names
from orchestrators.contracts import Contract, SchedulePlan, decode, read_answer
from orchestrators.export_state import ExportInput
from orchestrators.scheduler_contracts import (
    ClaimAnswer,
    CloseAnswer,
    CloseRequest,
    LaneInput,
    LaneStatus,
    Outcome,
    PlanAnswer,
    PlanRequest,
    Reported,
    SchedulerStatus,
)

Context = Any
Steps = Generator[Any, Any, dict[str, str]]
A = TypeVar("A", bound=Contract)
# A storage hiccup in a scheduler activity is waited out (5 s apart, 10 tries); a lane still failing fails the parent.
CLAIM_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=10)


class LaneFailed(Exception):
    """A lane ended without its summary (terminated, or a bug); the other lanes are not affected."""


def answered(answer: Any, kind: type[A], activity: str) -> A:
    """A scheduler activity's answer; what it answered instead (a permanent failure) is raised, failing at once."""
    result = read_answer(answer, kind, activity)
    if isinstance(result, ExportError):
        raise result
    return result


def plan_id(parent_id: str, export_ids: Iterable[str]) -> str:
    """Deterministic, and distinct for every tick's plan (its export instance ids differ)."""
    digest = hashlib.sha256("\0".join(export_ids).encode()).hexdigest()[:12]
    return f"{parent_id}-{digest}"


def lane_instance_id(plan: str, lane: int) -> str:
    return f"{plan}-lane-{lane}"


def scheduled_exports_orchestrator(context: Context) -> Steps:
    """Input: a `SchedulePlan` (exports of a target, run key and instance id each; how many at once)."""
    request = decode(context.get_input(), SchedulePlan, "the scheduler's plan")
    exports = list(request.exports)
    lanes = max(1, min(request.max_in_flight or 1, len(exports)))
    context.set_custom_status(SchedulerStatus(exports=len(exports), lanes=lanes if exports else 0).to_json())
    if not exports:
        return {}
    plan = plan_id(context.instance_id, (e.instance_id for e in exports))
    answered(
        (
            yield context.call_activity_with_retry(
                names.PLAN_SCHEDULED_EXPORTS, CLAIM_RETRY, PlanRequest(plan_id=plan, exports=exports).to_json()
            )
        ),
        PlanAnswer,
        names.PLAN_SCHEDULED_EXPORTS,
    )
    tasks = [
        context.call_sub_orchestrator(
            names.SCHEDULED_EXPORTS_LANE, LaneInput(plan_id=plan, lane=n).to_json(), lane_instance_id(plan, n)
        )
        for n in range(lanes)
    ]
    try:
        yield context.task_all(tasks)
    except Exception as exc:
        reason = str(exc).split("\n", 1)[0].strip()
        message = f"a scheduler lane did not finish ({reason}); the other lanes go on with their exports"
        raise LaneFailed(message) from None
    closed = answered(
        (
            yield context.call_activity_with_retry(
                names.CLOSE_SCHEDULED_EXPORTS, CLAIM_RETRY, CloseRequest(plan_id=plan).to_json()
            )
        ),
        CloseAnswer,
        names.CLOSE_SCHEDULED_EXPORTS,
    )
    return dict(closed.outcomes)


def scheduled_exports_lane(context: Context) -> Steps:
    """One claim and, if it got an export, that export; then continue as new with the next claim number."""
    lane = decode(context.get_input(), LaneInput, "a scheduler lane's input")
    answer = answered(
        (yield context.call_activity_with_retry(names.CLAIM_SCHEDULED_EXPORT, CLAIM_RETRY, lane.to_json())),
        ClaimAnswer,
        names.CLAIM_SCHEDULED_EXPORT,
    )
    if answer.export is None:
        context.set_custom_status(LaneStatus(claims=lane.claim, running=None).to_json())
        return {"lane": str(lane.lane), "exports": str(lane.claim)}
    item = answer.export
    context.set_custom_status(LaneStatus(claims=lane.claim + 1, running=item.instance_id).to_json())
    child_input = ExportInput(target=item.target, run_key=item.run_key).to_dict()
    try:
        yield context.call_sub_orchestrator(names.EXPORT_ORCHESTRATION, child_input, item.instance_id)
        outcome: Outcome = "succeeded"
    except Exception:  # the export's own status and event say why; the lane goes on
        outcome = "failed"
    reported = Reported(index=answer.index, outcome=outcome)
    context.continue_as_new(
        LaneInput(plan_id=lane.plan_id, lane=lane.lane, claim=lane.claim + 1, reported=reported).to_json()
    )
    return {}


ORCHESTRATORS = {
    names.SCHEDULED_EXPORTS_ORCHESTRATION: scheduled_exports_orchestrator,
    names.SCHEDULED_EXPORTS_LANE: scheduled_exports_lane,
}
