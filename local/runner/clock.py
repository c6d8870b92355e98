"""The orchestration clock of the local runner: real time plus the time that scaled timers skipped.

With `timer_scale` 0.01 a 60 s durable timer waits 0.6 s of real time, but the
orchestration must still see 60 s pass (the `OrchestratorStarted` timestamps it
reads as `current_utc_datetime`), or deadlines and Retry-After arithmetic would
behave differently from production. So the clock reads real time plus an
offset, and firing a timer raises the offset until the clock reads at least the
timer's due time: a 60 s timer moves orchestration time by 60 s, not by 60.6 s,
and timers running at the same time (parallel children) are not counted twice.
One clock is shared by an orchestration and its sub-orchestrations, so they
agree on what time it is; it only moves forward.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def system_utc_now() -> datetime:
    return datetime.now(UTC)


class VirtualClock:
    """Thread-safe: every instance loop of a runner reads and advances the same clock."""

    def __init__(self, real_now: Callable[[], datetime] | None = None) -> None:
        self._real_now = real_now or system_utc_now
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        self._last = self._read()

    def _read(self) -> datetime:
        moment = self._real_now()
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def now(self) -> datetime:
        with self._lock:
            self._last = max(self._last, self._read() + self._offset)
            return self._last

    def advance_to(self, moment: datetime) -> None:
        """A timer due at `moment` fired: from now on the clock reads at least `moment`."""
        with self._lock:
            current = self._read() + self._offset
            if moment > current:
                self._offset += moment - current
            self._last = max(self._last, moment)
