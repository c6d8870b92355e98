"""`Retry-After` in both forms, relative to now, bounded: what an upstream asks us to wait."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.http.retry_after import parse_retry_after

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("60", NOW) == 60


def test_retry_after_as_http_date_is_relative_to_now() -> None:
    assert parse_retry_after("Sun, 22 Nov 2026 12:01:30 GMT", NOW) == 90


def test_retry_after_in_the_past_means_no_wait() -> None:
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", NOW) == 0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e3x", "Mon, 99 Foo 2026"])
def test_unreadable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


@given(st.text())
def test_retry_after_parser_never_crashes(value: str) -> None:
    result = parse_retry_after(value, NOW)
    assert result is None or 0 <= result <= 24 * 3600
