"""The one small interface every upstream export API is reached through.

The orchestrator never sees HTTP: it sees a `JobStatus` (one set of states for
every upstream), and an `UpstreamError` (`kernel.errors`) whose `kind` tells it
what to do next (wait and retry, adopt the running job, re-create, refresh the
token, or stop). Both are plain, JSON-friendly values because activities hand
them to the Durable Functions history. The error types live in the kernel so
that every layer may raise and read them without importing connectors.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

from kernel.results import CleanupOutcome, RecordFormat


class JobState(enum.StrEnum):
    """Every upstream status maps onto one of these."""

    NOT_STARTED = "notStarted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # a status value we do not know: treated as still running
    SUCCEEDED_WITH_WARNINGS = "succeededWithWarnings"  # done, and the upstream says some of it is incomplete
    NO_DATA = "noData"  # done with nothing to store: a success with an empty result (only spec connectors say it)

    @property
    def is_active(self) -> bool:
        return self in (JobState.NOT_STARTED, JobState.RUNNING, JobState.UNKNOWN)

    @property
    def is_success(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.SUCCEEDED_WITH_WARNINGS, JobState.NO_DATA)


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
class ResultPart:
    """One file (or page) of a finished job's result: where it is, and what the upstream says of it."""

    url: str
    name: str | None = None
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultPart:
        return cls(url=data["url"], name=data.get("name"), size=data.get("size"))


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
    job_ref: str | None = None  # the job as a URL (a Location), checked against the API origin on every use
    parts: tuple[ResultPart, ...] = ()  # the result's files when the upstream lists several (else download_url)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; the two later fields only when set, so earlier shapes (and histories) stay as they were."""
        data = asdict(self)
        data["state"] = self.state.value
        if self.job_ref is None:
            del data["job_ref"]
        if self.parts:
            data["parts"] = [part.to_dict() for part in self.parts]
        else:
            del data["parts"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobStatus:
        parts = tuple(ResultPart.from_dict(part) for part in data.get("parts") or ())
        return cls(**{**data, "state": JobState(data["state"]), "parts": parts})

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """Validated as the dataclass it is; written as `to_dict` writes it (so typed contracts keep its shape)."""
        schema = dict(handler(source))
        schema["serialization"] = core_schema.plain_serializer_function_ser_schema(lambda job: job.to_dict())
        return schema  # the same schema, with a serializer set


CleanupWhen = Literal["after_store", "on_cancel", "on_deadline"]


@dataclass(frozen=True)
class ResultLayout:
    """How a finished job's result is stored and read, known before its first byte is downloaded.

    `multi_part`: stored as `part-00001...` blobs (pages, zip members, a list of files) rather than the one
    `content` blob of a single-file result. `records`/`records_path`: how a reader turns the bytes into records
    (None: the reader goes by the content type).
    """

    multi_part: bool = False
    records: RecordFormat | None = None
    records_path: str | None = None


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

    # What spec connectors added to the first interface.
    min_interval_s: float  # the least time between two calls to this API (0: only Retry-After and backoff)

    def check_job(self, job: JobStatus) -> JobStatus:
        """Poll the job `job` describes: through its `job_ref` when it has one, else its id."""
        ...

    def result_parts(self, job: JobStatus) -> list[ResultPart]:
        """The parts of a finished job's result, in order (one for a single file)."""
        ...

    def open_part(self, job: JobStatus, part: ResultPart) -> AbstractContextManager[ContentStream]:
        """Open one part. Expired or gone raises `UpstreamError(EXPIRED)`."""
        ...

    def cleanup(self, job: JobStatus, when: CleanupWhen) -> CleanupOutcome:
        """Delete or abort the upstream job where the API has such a call for `when`; never raises."""
        ...

    def iter_result(self, job: JobStatus) -> Iterator[tuple[ResultPart, ContentStream]]:
        """Every part of the result in order (files, pages, zip members), each open only until the next is asked."""
        ...

    def result_layout(self, job: JobStatus) -> ResultLayout:
        """Whether the result is stored as parts, and how its records read (from the spec, without a request)."""
        ...
