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
from datetime import datetime, timedelta

from targets.poll_settings import MIN_WAIT_S
from targets.poll_settings import PollSettings as PollSettings  # re-exported: the policy applies it

# Fixed for every target: these shape the mechanics, not how long a user is willing to wait.
FACTOR = 2.0  # backoff growth per attempt; the age cap, not the factor, decides how late a long job is noticed
JITTER = 0.1  # +/- share of our own backoff (never the server's wait): enough to spread exports started together
AGE_FRACTION = 0.25  # our own wait stays within a quarter of the job's age: the lag the module docstring promises
# MIN_WAIT_S: a Retry-After of 0 still waits this long, and no floor or ceiling of ours is shorter.
MAX_SERVER_WAIT_S = 3600.0  # a longer Retry-After is capped: an hour-long wait is already past any real job's need
MAX_TRANSIENT_FAILURES = 30  # consecutive transient failures tolerated; with backoff that spans far past an outage
POLLS_PER_GENERATION = 50  # continue_as_new after this many polls: replays stay cheap (see docs/benchmarks.md)


def age_cap_s(age_s: float, settings: PollSettings) -> float:
    """The longest wait we choose ourselves for a job this old: a share of its age, within floor and ceiling."""
    return min(settings.ceiling_s, max(settings.floor_s, AGE_FRACTION * age_s))


def backoff_s(attempt: int, settings: PollSettings, seed: str, age_s: float | None = None) -> float:
    """Our own wait for the `attempt`-th consecutive wait (0-based), jittered deterministically.

    With the job's age, the wait never exceeds `age_cap_s`; without it, only the ceiling caps it.
    """
    cap = settings.ceiling_s if age_s is None else age_cap_s(age_s, settings)
    base = min(cap, settings.floor_s * FACTOR ** min(attempt, 64))
    digest = hashlib.sha256(f"{seed}:{attempt}".encode()).digest()
    unit = int.from_bytes(digest[:8], "big") / 2**64  # in [0, 1)
    jittered = base * (1 + JITTER * (2 * unit - 1))
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
    min_interval_s: float = 0.0,
) -> float | None:
    """Seconds to wait before the next call, or None when the deadline has passed.

    `started` is when the export began working on the job being polled (its
    age is counted from there: a re-created job is young again, however old
    the run); `attempt` counts consecutive waits without progress (polls of a
    running job, or transient failures in a row). Both only shape our own backoff. `min_interval_s` is the
    connector's least time between two calls (its spec's politeness): no wait, the server's or ours, is shorter.
    """
    remaining = (deadline - now).total_seconds()
    if remaining <= 0:
        return None
    if retry_after_s is not None:
        wait = min(max(retry_after_s, MIN_WAIT_S), MAX_SERVER_WAIT_S)
    else:
        wait = backoff_s(attempt, settings, seed, age_s=max(0.0, (now - started).total_seconds()))
    return min(max(wait, min(min_interval_s, MAX_SERVER_WAIT_S)), remaining)


def fire_at(now: datetime, wait_s: float) -> datetime:
    """The durable timer's due time for a wait (kept to whole milliseconds for stable histories)."""
    return now + timedelta(milliseconds=round(wait_s * 1000))
