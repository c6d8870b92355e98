"""The one small interface every upstream export API is reached through.

The orchestrator never sees HTTP: it sees a `JobStatus` (one set of states for
every upstream), and an `UpstreamError` whose `kind` tells it what to do next
(wait and retry, adopt the running job, re-create, refresh the token, or stop).
Both are plain, JSON-friendly values because activities hand them to the
Durable Functions history.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol


class JobState(enum.StrEnum):
    """Every upstream status maps onto one of these."""

    NOT_STARTED = "notStarted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # a status value we do not know: treated as still running

    @property
    def is_active(self) -> bool:
        return self in (JobState.NOT_STARTED, JobState.RUNNING, JobState.UNKNOWN)


log = logging.getLogger(__name__)


def job_state(states: Mapping[str, JobState], raw: str, *, upstream: str, job_id: str) -> JobState:
    """The state an upstream status value maps to (`states` keyed by the lowercased value).

    A value the mapping does not know (Graph's `unknownFutureValue`, a status added later) is read as still
    running, so a new upstream value never fails a run, and logged, so that it is noticed and mapped.
    """
    state = states.get(raw.lower())
    if state is None:
        log.warning("%s job %s has an unknown status %r: treated as still running", upstream, job_id, raw)
        return JobState.UNKNOWN
    return state


@dataclass(frozen=True)
class JobStatus:
    """What a connector learned about one upstream job in one call."""

    job_id: str
    state: JobState
    upstream_status: str
    retry_after_s: float | None = None  # the server's wait, whatever form it sent
    expires_at: str | None = None  # ISO 8601 UTC, expiry of the job's result
    failure_reason: str | None = None  # the upstream's own words when it failed
    download_url: str | None = None  # where the content is, when succeeded
    created_at: str | None = None  # ISO 8601 UTC

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobStatus:
        return cls(**{**data, "state": JobState(data["state"])})


class ErrorKind(enum.StrEnum):
    """What the orchestrator should do about a failed upstream call."""

    TRANSIENT = "transient"  # 429, 5xx, network: wait (server's wait if given) and retry
    CONFLICT = "conflict"  # 409 on create: adopt `existing_job_id`
    EXPIRED = "expired"  # the result is gone: re-create the job
    AUTH = "auth"  # 401 after one refresh: the credential is not accepted
    PERMANENT = "permanent"  # 400/403/404: fail fast with the server's message
    STORAGE = "storage"  # our own Blob Storage failed, not the upstream: wait and retry, reported as storage


class UpstreamError(Exception):
    """A classified upstream failure. Its text never holds a token."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        retry_after_s: float | None = None,
        existing_job_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.code = code
        self.retry_after_s = retry_after_s
        self.existing_job_id = existing_job_id

    def __str__(self) -> str:
        status = f"HTTP {self.status_code} " if self.status_code else ""
        code = f"{self.code}: " if self.code else ""
        where = "storage error" if self.kind is ErrorKind.STORAGE else f"{self.kind.value} upstream error"
        return f"{where}: {status}{code}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "message": self.message,
            "status_code": self.status_code,
            "code": self.code,
            "retry_after_s": self.retry_after_s,
            "existing_job_id": self.existing_job_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UpstreamError:
        return cls(
            ErrorKind(data["kind"]),
            data["message"],
            status_code=data.get("status_code"),
            code=data.get("code"),
            retry_after_s=data.get("retry_after_s"),
            existing_job_id=data.get("existing_job_id"),
        )


class ContentStream(Protocol):
    """An open download: read it chunk by chunk, never whole."""

    content_type: str  # a checked `type/subtype`, or application/octet-stream
    refused_content_type: str | None  # the upstream's unusable Content-Type (redacted, cut), when it sent one
    content_length: int | None  # from Content-Length, when the server sent one

    def iter_bytes(self, chunk_size: int = ...) -> Iterator[bytes]: ...


class ExportConnector(Protocol):
    """Start a job, check a job, open its content. One per upstream API."""

    name: str

    def start_job(self) -> JobStatus:
        """Create the export job. A 409 raises `UpstreamError(CONFLICT, existing_job_id=...)`."""
        ...

    def get_job(self, job_id: str) -> JobStatus: ...

    def open_content(self, job: JobStatus) -> AbstractContextManager[ContentStream]:
        """Open the finished job's content. Expired or gone raises `UpstreamError(EXPIRED)`."""
        ...

    def find_own_jobs(self, not_before: datetime) -> list[JobStatus]:
        """Live jobs of these parameters created since `not_before`, newest first: how a run that crashed after
        the upstream accepted its create finds that job. Empty where the API cannot list jobs."""
        ...
