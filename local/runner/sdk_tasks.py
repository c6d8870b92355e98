"""Which work the SDK is waiting for after a replay, and under which sequence number.

The actions the SDK returns say what to schedule but not the sequence numbers
it will match results by, and they leave out the host's own retry timers: under
`call_activity_with_retry` a failed attempt makes the SDK open a timer task that
takes the next number at the moment it replays the failure, and the retried
attempt takes the number after that, however other tasks interleave. Reading
the numbers from the replayed context's open tasks, rather than counting on our
own, is what keeps the runner's history in step with the SDK in every
interleaving. The same pass checks that replayed tasks match what the history
scheduled under their numbers, as the host does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from azure.durable_functions.models.actions.ActionType import ActionType
from azure.durable_functions.models.actions.NoOpAction import NoOpAction
from azure.durable_functions.models.Task import RetryAbleTask, TaskBase, TimerTask

from local.runner import history as h
from local.runner.work import ActivityWork, ChildWork, TimerWork, Work, same_kind

RETRY_TIMER = "-WithRetry timer"  # the SDK's NoOpAction metadata for the timer between attempts
SUPPORTED = frozenset(
    {
        ActionType.CALL_ACTIVITY,
        ActionType.CALL_ACTIVITY_WITH_RETRY,
        ActionType.CALL_SUB_ORCHESTRATOR,
        ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY,
        ActionType.CONTINUE_AS_NEW,
        ActionType.CREATE_TIMER,
    }
)


class UnsupportedAction(Exception):
    """The orchestrator asked for something the local runner does not do (external events, entities, HTTP)."""


class NonDeterministic(Exception):
    """A replay scheduled different work under a sequence number than the history recorded."""


def check_supported(actions: Iterable[dict[str, Any]]) -> None:
    for action in actions:
        kind = action.get("actionType")
        if kind not in SUPPORTED:
            name = ActionType(kind).name if kind in set(ActionType) else repr(kind)
            raise UnsupportedAction(f"the local runner does not support the {name} action")


def open_tasks(context: Any) -> list[TaskBase]:
    """The replayed context's numbered, unfinished tasks, in sequence order."""
    tasks = [task for task in context.open_tasks.values() if isinstance(task, TaskBase) and isinstance(task.id, int)]
    return sorted(tasks, key=lambda task: int(task.id))


def _single_action(action_repr: Any) -> Any:
    return action_repr[0] if isinstance(action_repr, list) else action_repr


def _from_action(task_id: int, action: dict[str, Any], instance_id: str) -> Work:
    kind = action["actionType"]
    if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
        return ActivityWork(task_id, action["functionName"], action.get("input"))
    if kind == ActionType.CREATE_TIMER:
        return TimerWork(task_id, action["fireAt"])
    if kind in (ActionType.CALL_SUB_ORCHESTRATOR, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
        child_id = action.get("instanceId") or f"{instance_id}:{task_id}"
        return ChildWork(task_id, action["functionName"], action.get("input"), child_id)
    raise UnsupportedAction(f"the local runner does not support action type {kind}")


def _retry_work(task: TaskBase, now: datetime, instance_id: str) -> Work:
    """A task the SDK opened for `*_with_retry`: the timer after a failed attempt, or the next attempt."""
    retry = task.parent
    if not isinstance(retry, RetryAbleTask):
        raise UnsupportedAction(f"task {task.id} has no action the local runner knows")
    task_id = int(task.id)
    if _single_action(task.action_repr).metadata == RETRY_TIMER:
        delay = timedelta(milliseconds=retry.retry_options.first_retry_interval_in_milliseconds)
        return TimerWork(task_id, h.format_time(now + delay), retry=True)
    return _from_action(task_id, _single_action(retry.actions).to_json(), instance_id)


def work_for(task: TaskBase, now: datetime, instance_id: str) -> Work:
    action = _single_action(task.action_repr)
    if isinstance(action, NoOpAction):
        return _retry_work(task, now, instance_id)
    return _from_action(int(task.id), action.to_json(), instance_id)


def pending_work(context: Any, history: list[h.Event], instance_id: str) -> tuple[list[Work], frozenset[int]]:
    """New work to schedule (in sequence order), and the ids of timers the orchestrator cancelled."""
    scheduled = h.scheduled_by_id(history)
    now = context.current_utc_datetime
    new: list[Work] = []
    cancelled: set[int] = set()
    for task in open_tasks(context):
        work = work_for(task, now, instance_id)
        recorded = scheduled.get(work.task_id)
        if recorded is None:
            new.append(work)
        elif not same_kind(work, recorded):
            raise NonDeterministic(
                f"non-deterministic orchestration: task {work.task_id} is now {_describe(work)}, "
                f"but the history scheduled {h.EventType(recorded['EventType']).name} {recorded.get('Name') or ''}"
            )
        if isinstance(task, TimerTask) and task.is_cancelled:
            cancelled.add(work.task_id)
    return new, frozenset(cancelled)


def _describe(work: Work) -> str:
    return "a timer" if isinstance(work, TimerWork) else f"{type(work).__name__} {work.name}"
