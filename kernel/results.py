"""What a stored export says about its result and its upstream job, beside the bytes: shared by the connectors
that produce these values and the sinks and readers that record and read them (who import no connector)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How a reader turns a stored part's bytes into records.
RecordFormat = Literal["csv", "json_array_at_path", "ndjson"]


@dataclass(frozen=True)
class CleanupOutcome:
    """What a cleanup call did: whether a request was sent, and the failure (after one retry) if it failed."""

    sent: bool = False
    error: str | None = None
