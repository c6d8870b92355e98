"""When a target's schedule is due: NCRONTAB validity and the slot a moment falls in.

A schedule is NCRONTAB with six fields, seconds first, as Azure Functions
writes them. The latest slot at or before a timer tick is the run key of that
tick's export, so two firings for the same slot compute the same key (and the
caller the same instance id) and never start a second export, and a tick that
was skipped is caught up by the next one.
"""

from __future__ import annotations

from datetime import datetime

from croniter import croniter


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


def slot_run_key(expression: str, now: datetime) -> str:
    """The run key of the latest slot at or before `now` (UTC, whole seconds): ISO 8601 with Z."""
    slot = last_occurrence(expression, now.replace(microsecond=0))
    return slot.isoformat().replace("+00:00", "Z")
