"""Upstream timestamps, normalised to ISO 8601 UTC strings.

Graph's own examples write the time part with hyphens (`2023-06-19T12-06-03.0024Z`)
next to proper ISO 8601 with up to seven fraction digits; both must parse.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_STAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2})[:-](\d{2})[:-](\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$",
)


def parse_timestamp(text: object) -> datetime | None:
    """A timezone-aware UTC datetime, or None for anything that is not a timestamp."""
    if not isinstance(text, str):
        return None
    match = _STAMP.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    offset = "+00:00" if zone in (None, "Z") else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        moment = datetime.fromisoformat(f"{year}-{month}-{day}T{hour}:{minute}:{second}.{micro:06d}{offset}")
    except ValueError:
        return None
    return moment.astimezone(UTC)


def to_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def normalise_timestamp(text: object) -> str | None:
    moment = parse_timestamp(text)
    return to_iso(moment) if moment else None
