"""History events in the shape the Durable Functions host writes them, for the SDK's replay.

The SDK's `HistoryEvent` needs an int `EventType`, `EventId`, `IsPlayed` and a
`Timestamp` on every event; it matches results to tasks by sequence number
(`TaskScheduledId` for activities and sub-orchestrations, `TimerId` for timers)
and reads results as JSON text. Keeping every field name in this one module
means the rest of the runner never spells the wire format, and a stored history
(in memory, or a blob in the export storage account) is plain JSON that the SDK accepts as is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

Event = dict[str, Any]

# The SDK formats `fireAt` this way; timestamps use it too so one parser reads both.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class EventType(IntEnum):
    """The DTFx history event types the local runner writes (numbering as in the SDK)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    CONTINUE_AS_NEW = 16


SCHEDULING = frozenset({EventType.TASK_SCHEDULED, EventType.TIMER_CREATED, EventType.SUB_ORCHESTRATION_CREATED})
RESOLVING = {
    EventType.TASK_COMPLETED: "TaskScheduledId",
    EventType.TASK_FAILED: "TaskScheduledId",
    EventType.SUB_ORCHESTRATION_COMPLETED: "TaskScheduledId",
    EventType.SUB_ORCHESTRATION_FAILED: "TaskScheduledId",
    EventType.TIMER_FIRED: "TimerId",
}


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _event(kind: EventType, at: datetime, event_id: int = -1, **fields: Any) -> Event:
    return {"EventType": int(kind), "EventId": event_id, "IsPlayed": False, "Timestamp": format_time(at), **fields}


def orchestrator_started(at: datetime) -> Event:
    return _event(EventType.ORCHESTRATOR_STARTED, at)


def orchestrator_completed(at: datetime) -> Event:
    return _event(EventType.ORCHESTRATOR_COMPLETED, at)


def execution_started(at: datetime, name: str, input_json: str | None, instance_id: str, parent: str | None) -> Event:
    instance = {"InstanceId": instance_id, "ExecutionId": f"{instance_id}:{format_time(at)}"}
    parent_instance = {"OrchestrationInstance": {"InstanceId": parent}} if parent else None
    return _event(
        EventType.EXECUTION_STARTED,
        at,
        Name=name,
        Version="",
        Input=input_json,
        OrchestrationInstance=instance,
        ParentInstance=parent_instance,
    )


def execution_completed(at: datetime, status: str, result_json: str | None) -> Event:
    return _event(EventType.EXECUTION_COMPLETED, at, OrchestrationStatus=status, Result=result_json)


def execution_terminated(at: datetime, reason: str) -> Event:
    return _event(EventType.EXECUTION_TERMINATED, at, Input=json.dumps(reason))


def continued_as_new(at: datetime, input_json: str | None) -> Event:
    return _event(EventType.CONTINUE_AS_NEW, at, OrchestrationStatus="ContinuedAsNew", Result=input_json)


def task_scheduled(at: datetime, task_id: int, name: str, input_json: str | None) -> Event:
    return _event(EventType.TASK_SCHEDULED, at, task_id, Name=name, Version="", Input=input_json)


def task_completed(at: datetime, task_id: int, result_json: str) -> Event:
    return _event(EventType.TASK_COMPLETED, at, TaskScheduledId=task_id, Result=result_json)


def task_failed(at: datetime, task_id: int, reason: str, details: str) -> Event:
    return _event(EventType.TASK_FAILED, at, TaskScheduledId=task_id, Reason=reason, Details=details)


def sub_orchestration_created(at: datetime, task_id: int, name: str, instance_id: str, input_json: str | None) -> Event:
    return _event(
        EventType.SUB_ORCHESTRATION_CREATED,
        at,
        task_id,
        Name=name,
        Version="",
        InstanceId=instance_id,
        Input=input_json,
    )


def sub_orchestration_completed(at: datetime, task_id: int, result_json: str) -> Event:
    return _event(EventType.SUB_ORCHESTRATION_COMPLETED, at, TaskScheduledId=task_id, Result=result_json)


def sub_orchestration_failed(at: datetime, task_id: int, reason: str, details: str | None) -> Event:
    return _event(EventType.SUB_ORCHESTRATION_FAILED, at, TaskScheduledId=task_id, Reason=reason, Details=details)


def timer_created(at: datetime, task_id: int, fire_at: str) -> Event:
    return _event(EventType.TIMER_CREATED, at, task_id, FireAt=fire_at)


def timer_fired(at: datetime, task_id: int, fire_at: str) -> Event:
    return _event(EventType.TIMER_FIRED, at, TimerId=task_id, FireAt=fire_at)


def scheduled_by_id(history: Iterable[Event]) -> dict[int, Event]:
    """The scheduling event (TaskScheduled, TimerCreated, SubOrchestrationCreated) of every task id."""
    return {event["EventId"]: event for event in history if event["EventType"] in SCHEDULING}


def resolved_ids(history: Iterable[Event]) -> set[int]:
    """Task ids whose result (completion, failure, timer fired) is already in the history."""
    return {event[RESOLVING[event["EventType"]]] for event in history if event["EventType"] in RESOLVING}


def _current_episode_start(history: list[Event]) -> int:
    starts = [i for i, event in enumerate(history) if event["EventType"] == EventType.ORCHESTRATOR_STARTED]
    return starts[-1] if starts else len(history)


def marked_for_replay(history: list[Event]) -> list[Event]:
    """A copy with `IsPlayed` as the host has it: set on the events of earlier episodes, except on
    `OrchestratorStarted`, which DurableTask.Core's `TaskOrchestrationExecutor.ProcessEvents` skips before
    it marks an event played (the SDK's executor notes the same)."""
    boundary = _current_episode_start(history)
    return [
        {**event, "IsPlayed": index < boundary and event["EventType"] != EventType.ORCHESTRATOR_STARTED}
        for index, event in enumerate(history)
    ]


def is_replaying(history: list[Event]) -> bool:
    """The host's `IsReplaying` when it invokes the function: `ExecutionStarted` belongs to an earlier episode."""
    started = [i for i, event in enumerate(history) if event["EventType"] == EventType.EXECUTION_STARTED]
    return bool(started) and started[0] < _current_episode_start(history)
