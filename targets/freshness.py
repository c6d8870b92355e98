"""How old a target's newest export may be: declared limits, or two and three schedule intervals.

A target may declare `freshness: {warn_after: 26h, error_after: 50h}` (durations with a unit: s, m, h, d;
or plain seconds). A scheduled target that declares nothing gets limits from its schedule: it warns after
two intervals and errors after three (the interval is the longest gap between its last eight slots, so a
weekday schedule is not stale every Monday). An unscheduled target that declares nothing has no limits: it
is never called stale.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from croniter import croniter
from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

MIN_S = 60
MAX_S = 366 * 86400
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhd])\s*$")
WARN_INTERVALS = 2
ERROR_INTERVALS = 3
SLOTS = 8


def parse_duration(value: Any) -> int:
    """Seconds of `26h`, `90m`, `2d`, `45s` or a plain whole number of seconds, within 60 s and 366 days."""
    if isinstance(value, bool):
        raise ValueError("a duration such as 26h, 90m or 2d is expected")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and (match := DURATION.match(value)):
        seconds = int(match.group(1)) * UNITS[match.group(2)]
    else:
        raise ValueError(f"a duration such as 26h, 90m or 2d is expected, got {str(value)[:40]!r}")
    if not MIN_S <= seconds <= MAX_S:
        raise ValueError(f"a duration must be within {MIN_S} s and 366 days, got {seconds} s")
    return seconds


Duration = Annotated[int, BeforeValidator(parse_duration)]


class Freshness(BaseModel):
    """A target's declared limits, in seconds once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    warn_after: Duration
    error_after: Duration

    @model_validator(mode="after")
    def _error_after_warn(self) -> Freshness:
        if self.error_after < self.warn_after:
            raise ValueError("freshness.error_after must not be shorter than warn_after")
        return self


@dataclass(frozen=True)
class Limits:
    warn_after_s: float
    error_after_s: float
    declared: bool


def schedule_interval_s(expression: str, now: datetime) -> float:
    """The longest gap between the last SLOTS occurrences of `expression` at or before `now`."""
    probe = croniter(expression, now, second_at_beginning=True)
    slots: list[datetime] = [probe.get_prev(datetime) for _ in range(SLOTS + 1)]
    return max((a - b).total_seconds() for a, b in itertools.pairwise(slots))


def limits(declared: Freshness | None, schedule: str | None, now: datetime) -> Limits | None:
    """The limits a target's latest.json age is held to at `now`, or None for none."""
    if declared is not None:
        return Limits(float(declared.warn_after), float(declared.error_after), declared=True)
    if not schedule:
        return None
    interval = schedule_interval_s(schedule, now)
    return Limits(WARN_INTERVALS * interval, ERROR_INTERVALS * interval, declared=False)
