from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrators.poll_policy import PollSettings, backoff_s, next_wait

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FAR = NOW + timedelta(days=1)


def wait(retry_after: float | None, attempt: int = 0, settings: PollSettings | None = None) -> float | None:
    return next_wait(
        now=NOW,
        deadline=FAR,
        retry_after_s=retry_after,
        attempt=attempt,
        settings=settings or PollSettings(),
        seed="instance-1",
    )


def test_server_retry_after_wins_over_own_backoff() -> None:
    assert wait(60) == 60
    assert wait(60, attempt=9) == 60


def test_retry_after_zero_still_waits_the_minimum() -> None:
    assert wait(0) == PollSettings().min_wait_s


def test_absurd_retry_after_is_capped() -> None:
    assert wait(10**9) == PollSettings().max_server_wait_s


def test_backoff_grows_from_floor_to_ceiling_without_retry_after() -> None:
    settings = PollSettings(floor_s=5, ceiling_s=80, jitter=0)
    assert [wait(None, attempt=a, settings=settings) for a in range(6)] == [5, 10, 20, 40, 80, 80]


def test_backoff_jitter_is_the_same_on_every_replay_and_differs_between_instances() -> None:
    settings = PollSettings(jitter=0.2)
    assert backoff_s(3, settings, "a") == backoff_s(3, settings, "a")
    assert backoff_s(3, settings, "a") != backoff_s(3, settings, "b")


def test_last_wait_is_cut_to_end_exactly_at_the_deadline() -> None:
    result = next_wait(
        now=NOW,
        deadline=NOW + timedelta(seconds=7),
        retry_after_s=60,
        attempt=0,
        settings=PollSettings(),
        seed="x",
    )
    assert result == 7


def test_no_wait_once_the_deadline_has_passed() -> None:
    assert next_wait(now=FAR, deadline=FAR, retry_after_s=1, attempt=0, settings=PollSettings(), seed="x") is None


@pytest.mark.parametrize(
    "bad",
    [
        {"floor_s": 0},
        {"floor_s": 10, "ceiling_s": 5},
        {"factor": 0.5},
        {"jitter": 1.5},
        {"deadline_s": 0},
        {"max_recreations": -1},
        {"polls_per_generation": 0},
    ],
)
def test_invalid_settings_are_rejected_with_a_message(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"poll|max_recreations"):
        PollSettings(**bad)


@given(
    retry_after=st.one_of(st.none(), st.floats(min_value=0, max_value=1e7)),
    attempt=st.integers(min_value=0, max_value=10_000),
    remaining=st.floats(min_value=0.001, max_value=1e6),
)
def test_wait_is_always_positive_and_never_past_the_deadline(
    retry_after: float | None, attempt: int, remaining: float
) -> None:
    deadline = NOW + timedelta(seconds=remaining)
    result = next_wait(
        now=NOW,
        deadline=deadline,
        retry_after_s=retry_after,
        attempt=attempt,
        settings=PollSettings(),
        seed="s",
    )
    assert result is not None
    assert 0 < result <= (deadline - NOW).total_seconds()
    if retry_after is not None and retry_after <= PollSettings().max_server_wait_s:
        assert result >= min(retry_after, (deadline - NOW).total_seconds())
