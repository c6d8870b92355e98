"""The small state an export orchestration carries across `continue_as_new`.

Everything here is JSON-safe and secret-free: it is written into the
orchestration history, the custom status and the next generation's input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from connectors.redaction import clip

# Custom status must stay far below the host's 16 KB (UTF-16 JSON, so 2 bytes a character) and an event below a
# Storage queue message's 64 KB, whatever an upstream sends: these bound every string copied into them.
MAX_REASON = 1000  # a failure message or last_error
MAX_SHOWN_ID = 200  # a job id or upstream status as shown (the real id is kept whole for the calls)


@dataclass(frozen=True)
class ExportState:
    """Where a run stands; replaced (never mutated) at each step."""

    started_at: str  # ISO 8601 UTC, from the orchestration clock
    deadline_at: str
    job_id: str | None = None
    upstream_status: str | None = None
    polls: int = 0  # status checks so far, all generations
    polls_this_generation: int = 0
    waits_without_progress: int = 0  # shapes our own backoff
    transient_failures: int = 0  # consecutive
    recreations: int = 0
    generation: int = 1
    last_error: str | None = None
    discarded_job_ids: list[str] = field(default_factory=list)  # failed/expired jobs never to be found again
    # When work on the current job began (the run's start, then each re-creation): the age polling counts from.
    # States written before it existed lack it; they read as None and count from `started_at`, as they did.
    job_started_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportState:
        return cls(**data)

    def evolve(self, **changes: Any) -> ExportState:
        if changes.get("last_error") is not None:
            changes["last_error"] = clip(changes["last_error"], MAX_REASON)
        return replace(self, **changes)


@dataclass(frozen=True)
class ExportInput:
    """The orchestration input: a validated target (as JSON), the run key, and the carried state."""

    target: dict[str, Any]
    run_key: str
    state: ExportState | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "run_key": self.run_key,
            "state": self.state.to_dict() if self.state else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportInput:
        state = data.get("state")
        return cls(
            target=data["target"],
            run_key=data["run_key"],
            state=ExportState.from_dict(state) if state else None,
        )
