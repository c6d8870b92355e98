"""The server's `Retry-After`, read in both its forms, relative to a given `now`, and bounded.

Why: clients that ignore it get escalating rate-limit penalties (SailPoint's reach 1200 s), so both forms are
read (delta-seconds and HTTP-date). A header is hostile input like any other: a value past
`MAX_RETRY_AFTER_S` is clamped to it, so no later date arithmetic sees an absurd number. This bound is also the
longest wait a target may configure (`max_server_wait_s`); the poll policy's default honours less.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER_S = 24 * 3600.0  # a day is past anything an upstream sanely asks for


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from `now`; None when absent, negative or unreadable. A past date means 0."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_S)
    moment = _http_date(text)
    if moment is None:
        return None
    reference = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return min(max(0.0, (moment - reference).total_seconds()), MAX_RETRY_AFTER_S)


def _http_date(text: str) -> datetime | None:
    if not text or not text.isascii() or not any(c.isalpha() for c in text):  # dates always name a month
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
