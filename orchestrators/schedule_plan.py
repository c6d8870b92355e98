"""Which targets are due in a timer tick, and under which run key.

A target's NCRONTAB schedule (six fields, seconds first, as Azure Functions
writes them) is due in a tick when one of its occurrences falls in
(window_start, window_end]. The occurrence time is the run key, so two timer
firings for the same slot map to the same instance id and never start a
second export.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from croniter import croniter

from orchestrators.instance_ids import export_instance_id


def valid_schedule(expression: str) -> bool:
    return len(expression.split()) == 6 and bool(croniter.is_valid(expression, second_at_beginning=True))


def last_occurrence(expression: str, at_or_before: datetime) -> datetime:
    """The latest occurrence of `expression` at or before the given moment."""
    probe = croniter(expression, at_or_before, second_at_beginning=True)
    following: datetime = probe.get_next(datetime)
    if following == at_or_before:
        return at_or_before
    previous: datetime = croniter(expression, at_or_before, second_at_beginning=True).get_prev(datetime)
    return previous


@dataclass(frozen=True)
class DueRun:
    target: str
    run_key: str
    instance_id: str


def due_runs(schedules: dict[str, str], window_start: datetime, window_end: datetime) -> list[DueRun]:
    """One run per target whose schedule has an occurrence in (window_start, window_end]; the latest one wins."""
    runs = []
    for name, expression in sorted(schedules.items()):
        slot = last_occurrence(expression, window_end)
        if window_start < slot <= window_end:
            key = slot.isoformat().replace("+00:00", "Z")
            runs.append(DueRun(name, key, export_instance_id(name, key)))
    return runs
