"""The three kinds of work an orchestration can wait for, and how each is written into the history.

The runner learns new work from the host model after a replay and, when resuming a
crashed run, relearns the outstanding work from the saved history alone; both
paths produce these values, so one piece of code starts them and one writes
their scheduling events. Nothing else needs to be saved to resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from local.runner import history as h


@dataclass(frozen=True)
class ActivityWork:
    task_id: int
    name: str
    input_json: str | None


@dataclass(frozen=True)
class TimerWork:
    task_id: int
    fire_at: str  # as the SDK formats it, so the history repeats the action's text exactly
    retry: bool = False  # the host's timer between two attempts of a -with-retry call

    @property
    def due(self) -> datetime:
        return h.parse_time(self.fire_at)


@dataclass(frozen=True)
class ChildWork:
    task_id: int
    name: str
    input_json: str | None
    instance_id: str


Work = ActivityWork | TimerWork | ChildWork


def scheduling_event(work: Work, at: datetime) -> h.Event:
    if isinstance(work, ActivityWork):
        return h.task_scheduled(at, work.task_id, work.name, work.input_json)
    if isinstance(work, TimerWork):
        return h.timer_created(at, work.task_id, work.fire_at)
    return h.sub_orchestration_created(at, work.task_id, work.name, work.instance_id, work.input_json)


def from_scheduling_event(event: h.Event) -> Work:
    kind, task_id = event["EventType"], event["EventId"]
    if kind == h.EventType.TASK_SCHEDULED:
        return ActivityWork(task_id, event["Name"], event.get("Input"))
    if kind == h.EventType.TIMER_CREATED:
        return TimerWork(task_id, event["FireAt"])
    return ChildWork(task_id, event["Name"], event.get("Input"), event["InstanceId"])


def outstanding(history: list[h.Event]) -> list[Work]:
    """Work scheduled in `history` whose result is not in it yet: what a resumed run must (re)start."""
    done = h.resolved_ids(history)
    scheduled = h.scheduled_by_id(history)
    return [from_scheduling_event(event) for task_id, event in sorted(scheduled.items()) if task_id not in done]


def same_kind(work: Work, event: h.Event) -> bool:
    """Whether a replayed task matches what the history scheduled under its id (the host's determinism check,
    which compares names ignoring case: DurableTask.Core `TaskOrchestrationContext.Handle*CreatedEvent`)."""
    recorded = from_scheduling_event(event)
    if isinstance(work, TimerWork) or isinstance(recorded, TimerWork):
        return type(work) is type(recorded)
    return type(work) is type(recorded) and work.name.lower() == recorded.name.lower()
