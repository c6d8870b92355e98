"""The orchestration clock of the local runner: real time plus the time that scaled timers skipped.

With `timer_scale` 0.01 a 60 s durable timer waits 0.6 s of real time, but the
orchestration must still see 60 s pass, or deadlines and Retry-After
arithmetic would behave differently from production. The clock only moves
forward, and firing a timer moves it to at least the timer's due time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def _utcnow() -> datetime:
    return datetime.now(UTC)


class VirtualClock:
    """Shared by an orchestration and its sub-orchestrations; thread-safe."""

    def __init__(self, real_now: Callable[[], datetime] | None = None) -> None:
        self._real_now = real_now or _utcnow
        self._offset = timedelta(0)
        self._last = self._real_now()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            moment = self._real_now() + self._offset
            self._last = max(self._last, moment)
            return self._last

    def advance_to(self, moment: datetime) -> None:
        """A timer due at `moment` fired: the orchestration clock reads at least `moment` from now on."""
        with self._lock:
            current = self._real_now() + self._offset
            if moment > current:
                self._offset += moment - current
            self._last = max(self._last, moment)
