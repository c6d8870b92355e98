"""The small state an export orchestration carries across `continue_as_new`.

Everything here is JSON-safe and secret-free: it is written into the
orchestration history, the custom status and the next generation's input.
The input is a versioned contract (`orchestrators.contracts.Contract`): an
input recorded by the previous release reads, one of an unknown release is
refused by name.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from kernel.redaction import clip
from orchestrators.contracts import Contract, TargetInput
from versioned import Additive

# Custom status must stay far below the host's 16 KB (UTF-16 JSON, so 2 bytes a character) and an event below a
# Storage queue message's 64 KB, whatever an upstream sends: these bound every string copied into them.
MAX_REASON = 1000  # a failure message or last_error
MAX_SHOWN_ID = 200  # a job id or upstream status as shown (the real id is kept whole for the calls)


class ExportState(Additive):
    """Where a run stands; replaced (never mutated) at each step. It travels inside the versioned `ExportInput`."""

    model_config = ConfigDict(frozen=True)

    started_at: str  # ISO 8601 UTC, from the orchestration clock
    deadline_at: str
    job_id: str | None = None
    job_ref: str | None = None  # the job as a URL when the upstream gave one (a Location): polled through it
    min_interval_s: float = 0.0  # the connector's least time between two calls, learned from its answers
    upstream_status: str | None = None
    polls: int = 0  # status checks so far, all generations
    polls_this_generation: int = 0
    waits_without_progress: int = 0  # shapes our own backoff
    transient_failures: int = 0  # consecutive
    recreations: int = 0
    generation: int = 1
    last_error: str | None = None
    discarded_job_ids: list[str] = Field(default_factory=list)  # failed/expired jobs never to be found again
    # When work on the current job began (the run's start, then each re-creation; orchestration clock): the age
    # polling counts from, and the lower bound of the look-up for a job of ours (less the clock skew bound). States
    # written before it existed lack it; they read as None and count from `started_at`, as they did.
    job_started_at: str | None = None

    ADDED_LATER = frozenset({"job_ref", "min_interval_s"})  # left out while unused (`versioned.Additive`)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportState:
        return cls.model_validate(data)

    def evolve(self, **changes: Any) -> ExportState:
        if changes.get("last_error") is not None:
            changes["last_error"] = clip(changes["last_error"], MAX_REASON)
        return self.model_validate({**self.model_dump(), **changes})


class ExportInput(Contract):
    """The orchestration input: the validated target, the run key, and the carried state."""

    target: TargetInput
    run_key: str
    state: ExportState | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.to_json()

    @classmethod
    def from_dict(cls, data: Any) -> ExportInput:
        return cls.from_json(data)
