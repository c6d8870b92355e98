"""Upstream timestamps, read in one place and normalised to ISO 8601 UTC strings.

Why a parser of our own: Graph's reference pages write the time part with
hyphens (`2023-06-19T12-06-03.0024Z`) next to proper ISO 8601 with seven
fraction digits, and `datetime.fromisoformat` refuses the hyphenated form while
accepting many shapes (week dates, bare dates) no upstream sends. Expiry
decisions hang on these values, so a value we cannot read is `None` (unknown),
never a guess and never an exception.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_STAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2})[:-](\d{2})[:-](\d{2})(?:[.,](\d{1,9}))?([Zz]|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII,
)
# How far an upstream's clock and ours may disagree: an upstream time later than our now plus this is not a time
# the upstream can have meant (a year-9999 creation time), and is read as unknown where it would order things.
CLOCK_SKEW = timedelta(minutes=5)


def _offset(zone: str | None) -> str:
    """`Z`, `+02`, `+0200` or `+02:00` as `+HH:MM`; no zone at all is read as UTC."""
    if zone is None or zone in ("Z", "z"):
        return "+00:00"
    digits = zone[1:].replace(":", "")
    return f"{zone[0]}{digits[:2]}:{digits[2:4] or '00'}"


def parse_timestamp(text: object) -> datetime | None:
    """A timezone-aware UTC datetime, or None for anything that is not a readable timestamp."""
    if not isinstance(text, str):
        return None
    match = _STAMP.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")  # seven-digit (.NET) fractions lose only the 100 ns digit
    try:
        moment = datetime.fromisoformat(f"{year}-{month}-{day}T{hour}:{minute}:{second}.{micro}{_offset(zone)}")
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def to_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, the one form every JobStatus timestamp takes."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def normalise_timestamp(text: object) -> str | None:
    """Any accepted upstream form as ISO 8601 UTC (`...Z`), or None when unreadable."""
    moment = parse_timestamp(text)
    return to_iso(moment) if moment is not None else None


def not_after(text: str | None, moment: datetime) -> str | None:
    """An upstream time that can be in the past of `moment` (give or take the clock skew), else None (unknown)."""
    parsed = parse_timestamp(text)
    return text if parsed is not None and parsed <= moment + CLOCK_SKEW else None
