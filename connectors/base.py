"""The one small interface every upstream export API is reached through.

The orchestrator never sees HTTP: it sees a `JobStatus` (one set of states for
every upstream), and an `UpstreamError` whose `kind` tells it what to do next
(wait and retry, adopt the running job, re-create, refresh the token, or stop).
Both are plain, JSON-friendly values because activities hand them to the
Durable Functions history. `UpstreamError` is the upstream's (and the network's)
only: the other failures an activity classifies have types of their own beside
it (`StorageError`, `TokenCacheError`, `ConfigurationError`, `ContractError`),
all `ExportError`s with the same JSON form plus their `source`, so the user is
sent to the right place and only what may recover is ever retried.
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
class CleanupOutcome:
    """What a cleanup call did: whether a request was sent, and the failure (after one retry) if it failed."""

    sent: bool = False
    error: str | None = None


RecordFormat = Literal["csv", "json_array_at_path", "ndjson"]


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


class ErrorKind(enum.StrEnum):
    """What the orchestrator should do about a failed call (its table is `orchestrators.failure_policy`)."""

    TRANSIENT = "transient"  # 429, 5xx, network, our storage unavailable: wait (server's wait if given) and retry
    CONFLICT = "conflict"  # 409 on create: adopt `existing_job_id`
    EXPIRED = "expired"  # the result is gone: re-create the job
    AUTH = "auth"  # 401 after one refresh: the credential is not accepted
    PERMANENT = "permanent"  # 400/403/404, a refused setting, an undecodable value: fail fast with what was wrong


class Source(enum.StrEnum):
    """Where a classified failure happened: what the user is told to look at."""

    UPSTREAM = "upstream"  # the export API or its identity provider, and the network to them
    STORAGE = "storage"  # our own Blob Storage (exports, manifests, latest.json)
    TOKEN_CACHE = "token_cache"  # noqa: S105 (a name, not a secret): the blob that holds a delegated sign-in's MSAL token cache
    CONFIGURATION = "configuration"  # a target or app setting that cannot be used as it is
    CONTRACT = "contract"  # a value in the history or a manifest that cannot be decoded
    ACTIVITY = "activity"  # an activity ended without classifying its failure: the host's report of a lost worker


# The others are permanent. A token cache is a blob of our storage; an unclassified activity failure is how the host
# reports a worker it lost (every failure an activity expects is classified), so it gets the bounded retries too.
MAY_BE_RETRIED = frozenset({Source.UPSTREAM, Source.STORAGE, Source.TOKEN_CACHE, Source.ACTIVITY})
LEGACY_STORAGE_KIND = "storage"  # before `Source`, a storage failure was kind "storage" (always retried)


class ExportError(Exception):
    """A classified failure, answered by an activity as a `Failure`. Its text never holds a token.

    The subclass says where it happened (`source`), `kind` what to do about it. Only upstream (network included)
    and storage failures may be `TRANSIENT`: nothing else gets better by repeating.
    """

    source: Source = Source.UPSTREAM

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
        self.kind = kind if self.source in MAY_BE_RETRIED else ErrorKind.PERMANENT
        self.message = message
        self.status_code = status_code
        self.code = code
        self.retry_after_s = retry_after_s
        self.existing_job_id = existing_job_id

    def describe(self) -> str:
        return f"{self.source.value.replace('_', ' ')} error"

    def __str__(self) -> str:
        status = f"HTTP {self.status_code} " if self.status_code else ""
        code = f"{self.code}: " if self.code else ""
        return f"{self.describe()}: {status}{code}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "message": self.message,
            "status_code": self.status_code,
            "code": self.code,
            "retry_after_s": self.retry_after_s,
            "existing_job_id": self.existing_job_id,
            "source": self.source.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportError:
        """The failure `to_dict` wrote, or one a release before `source` wrote (kind "storage": storage)."""
        kind, source = data["kind"], data.get("source", Source.UPSTREAM.value)
        if kind == LEGACY_STORAGE_KIND:
            kind, source = ErrorKind.TRANSIENT.value, Source.STORAGE.value
        return ERROR_TYPES[Source(source)](
            ErrorKind(kind),
            data["message"],
            status_code=data.get("status_code"),
            code=data.get("code"),
            retry_after_s=data.get("retry_after_s"),
            existing_job_id=data.get("existing_job_id"),
        )


class UpstreamError(ExportError):
    """A classified failure of the upstream export API, its identity provider, or the network to them."""

    source = Source.UPSTREAM

    def describe(self) -> str:
        return f"{self.kind.value} upstream error"


class StorageError(ExportError):
    """Our own Blob Storage failed: retried while it may come back, reported as storage, not as the upstream."""

    source = Source.STORAGE


class TokenCacheError(ExportError):
    """The blob holding a delegated sign-in's token cache cannot be read, written or used."""

    source = Source.TOKEN_CACHE


class ConfigurationError(ExportError, ValueError):
    """A target or app setting that cannot be used as it is: always permanent, whatever kind it is given.

    Also a `ValueError`, which is what a setting that cannot be used raised before it had a type of its own."""

    source = Source.CONFIGURATION


class ContractError(ExportError):
    """A request, an answer or a manifest that cannot be decoded: always permanent, whatever kind it is given."""

    source = Source.CONTRACT


class ActivityFailed(ExportError):
    """An activity that raised instead of answering: the host's words for it, retried within the usual bound."""

    source = Source.ACTIVITY

    def describe(self) -> str:
        return "activity error"


ERROR_TYPES: dict[Source, type[ExportError]] = {
    Source.UPSTREAM: UpstreamError,
    Source.STORAGE: StorageError,
    Source.TOKEN_CACHE: TokenCacheError,
    Source.CONFIGURATION: ConfigurationError,
    Source.CONTRACT: ContractError,
    Source.ACTIVITY: ActivityFailed,
}


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

    # What spec connectors added; `HttpExportConnector` gives every class connector the defaults.
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
