"""How long to wait before the next upstream call: one plain function for every caller.

The orchestrator, the tests and the benchmarks all call `next_wait` so that the
rule lives in one place. The server's `Retry-After` always wins over our own
backoff (never poll sooner than asked), so with it the status calls stay at
ceil(duration / Retry-After) + 1. Without it we back off exponentially from a
floor, but never past a fraction (25 %) of the job's age so far, and never
past the ceiling: a plain exponential backoff (5, 10, 20, 40 s...) notices a
22 s job up to 18 s late, while a wait proportional to the age keeps the lag
to a quarter of the job's length (at least the floor) at a cost of a few
polls per doubling of the age, logarithmic in the duration where a fixed
interval is linear. Jitter is derived from the instance id, so the value is
the same on every replay; it only ever shortens a wait that the age or the
ceiling caps. No wait ever runs past the deadline: the last wait is cut so
that one final check happens at the deadline itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class PollSettings:
    """Per-target knobs; the defaults suit jobs that take minutes to hours."""

    floor_s: float = 5.0  # first backoff wait when the server gives no Retry-After
    ceiling_s: float = 300.0  # longest backoff wait we choose ourselves
    factor: float = 2.0  # backoff growth per attempt
    jitter: float = 0.1  # +/- fraction applied to our own backoff (never to the server's wait)
    age_fraction: float = 0.25  # our own wait never exceeds this share of the job's age (nor the floor)
    min_wait_s: float = 1.0  # a Retry-After of 0 still waits this long (no hot loop)
    max_server_wait_s: float = 3600.0  # a longer Retry-After is capped here
    deadline_s: float = 6 * 3600.0  # the whole export, from the first start, must end within this
    max_recreations: int = 2  # failed, cancelled or expired jobs are re-created this many times
    max_transient_failures: int = 30  # consecutive transient failures tolerated (deadline still applies)
    polls_per_generation: int = 50  # continue_as_new after this many polls to keep history small

    def __post_init__(self) -> None:
        if not 0 < self.floor_s <= self.ceiling_s:
            raise ValueError("poll floor_s must be > 0 and <= ceiling_s")
        if self.factor < 1 or not 0 <= self.jitter < 1 or not 0 < self.age_fraction <= 1:
            raise ValueError("poll factor must be >= 1, jitter in [0, 1) and age_fraction in (0, 1]")
        if self.deadline_s <= 0 or self.min_wait_s < 0 or self.max_server_wait_s < self.min_wait_s:
            raise ValueError("poll deadline_s must be > 0 and 0 <= min_wait_s <= max_server_wait_s")
        if self.max_recreations < 0 or self.max_transient_failures < 1 or self.polls_per_generation < 1:
            raise ValueError("max_recreations >= 0, max_transient_failures >= 1, polls_per_generation >= 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PollSettings:
        return cls(**(data or {}))


def age_cap_s(age_s: float, settings: PollSettings) -> float:
    """The longest wait we choose ourselves for a job this old: a share of its age, within floor and ceiling."""
    return min(settings.ceiling_s, max(settings.floor_s, settings.age_fraction * age_s))


def backoff_s(attempt: int, settings: PollSettings, seed: str, age_s: float | None = None) -> float:
    """Our own wait for the `attempt`-th consecutive wait (0-based), jittered deterministically.

    With the job's age, the wait never exceeds `age_cap_s`; without it, only the ceiling caps it.
    """
    cap = settings.ceiling_s if age_s is None else age_cap_s(age_s, settings)
    base = min(cap, settings.floor_s * settings.factor ** min(attempt, 64))
    digest = hashlib.sha256(f"{seed}:{attempt}".encode()).digest()
    unit = int.from_bytes(digest[:8], "big") / 2**64  # in [0, 1)
    jittered = base * (1 + settings.jitter * (2 * unit - 1))
    return max(settings.floor_s, min(cap, jittered))


def next_wait(
    *,
    now: datetime,
    started: datetime,
    deadline: datetime,
    retry_after_s: float | None,
    attempt: int,
    settings: PollSettings,
    seed: str,
) -> float | None:
    """Seconds to wait before the next call, or None when the deadline has passed.

    `started` is when the export began working on the job (its age is counted
    from there); `attempt` counts consecutive waits without progress (polls of a
    running job, or transient failures in a row). Both only shape our own backoff.
    """
    remaining = (deadline - now).total_seconds()
    if remaining <= 0:
        return None
    if retry_after_s is not None:
        wait = min(max(retry_after_s, settings.min_wait_s), settings.max_server_wait_s)
    else:
        wait = backoff_s(attempt, settings, seed, age_s=max(0.0, (now - started).total_seconds()))
    return min(wait, remaining)


def fire_at(now: datetime, wait_s: float) -> datetime:
    """The durable timer's due time for a wait (kept to whole milliseconds for stable histories)."""
    return now + timedelta(milliseconds=round(wait_s * 1000))
