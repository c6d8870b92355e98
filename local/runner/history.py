"""History events in the shape the Durable Functions host writes them, for the SDK's replay.

The SDK's `HistoryEvent` needs an int `EventType`, `EventId`, `IsPlayed` and a
`Timestamp` on every event; results are matched to tasks by sequence number
(`TaskScheduledId`, `TimerId`) and carried as JSON strings. Only the builders
here know those field names.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any


class EventType(IntEnum):
    """The subset of DTFx history event types the local runner writes."""

    EXECUTION_STARTED = 0
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


Event = dict[str, Any]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _event(kind: EventType, at: datetime, event_id: int = -1, **fields: Any) -> Event:
    return {"EventType": int(kind), "EventId": event_id, "IsPlayed": False, "Timestamp": iso(at), **fields}


def orchestrator_started(at: datetime) -> Event:
    return _event(EventType.ORCHESTRATOR_STARTED, at)


def orchestrator_completed(at: datetime) -> Event:
    return _event(EventType.ORCHESTRATOR_COMPLETED, at)


def execution_started(at: datetime, name: str, input_json: str | None) -> Event:
    return _event(EventType.EXECUTION_STARTED, at, Name=name, Input=input_json, Version="")


def task_scheduled(at: datetime, task_id: int, name: str, input_json: str | None) -> Event:
    return _event(EventType.TASK_SCHEDULED, at, task_id, Name=name, Input=input_json)


def task_completed(at: datetime, task_id: int, result_json: str | None) -> Event:
    return _event(EventType.TASK_COMPLETED, at, TaskScheduledId=task_id, Result=result_json)


def task_failed(at: datetime, task_id: int, reason: str, details: str) -> Event:
    return _event(EventType.TASK_FAILED, at, TaskScheduledId=task_id, Reason=reason, Details=details)


def sub_orchestration_created(at: datetime, task_id: int, name: str, instance_id: str) -> Event:
    return _event(EventType.SUB_ORCHESTRATION_CREATED, at, task_id, Name=name, InstanceId=instance_id)


def sub_orchestration_completed(at: datetime, task_id: int, result_json: str | None) -> Event:
    return _event(EventType.SUB_ORCHESTRATION_COMPLETED, at, TaskScheduledId=task_id, Result=result_json)


def sub_orchestration_failed(at: datetime, task_id: int, reason: str, details: str) -> Event:
    return _event(EventType.SUB_ORCHESTRATION_FAILED, at, TaskScheduledId=task_id, Reason=reason, Details=details)


def timer_created(at: datetime, task_id: int, fire_at: str) -> Event:
    return _event(EventType.TIMER_CREATED, at, task_id, FireAt=fire_at)


def timer_fired(at: datetime, task_id: int, fire_at: str) -> Event:
    return _event(EventType.TIMER_FIRED, at, TimerId=task_id, FireAt=fire_at)
