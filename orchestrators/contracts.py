"""The values that cross the Durable boundary: what each activity takes and answers, an export's input, progress
and result.

Both sides parse through these types instead of reading dict keys, so a renamed field breaks its readers where
mypy and the tests see it, not silently in production. They are typed to the edges: the target is the validated
`targets.Target`, a stored blob the sink's `BlobRef`, a job the connectors' `JobStatus`, a failure an
`ExportError`. Their JSON is what the history and the custom status hold, with the key names the untyped dicts
had before plus `schema_version` (`versioned`): an orchestration in flight across a deployment replays the
answers its activities recorded earlier, and a status written by the previous version still reads; a shape from
a release this one does not know is refused by name.

A value that cannot be decoded is a `ContractError`: permanent, since replaying the same history cannot change
it (`read_answer`, `decode_request`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, PlainValidator, ValidationError

from connectors.base import CleanupWhen, JobStatus
from kernel.errors import ContractError, ErrorKind, ExportError
from kernel.redaction import clip
from kernel.results import CleanupOutcome
from sinks.blob_ref import BlobRef
from targets import Target
from versioned import Additive, UnsupportedVersion, Versioned

MAX_DECODE_REASON = 500


def _target_from_input(value: Any) -> Any:
    """A target as an orchestration input carries it; one written by an earlier release may hold retired poll keys."""
    return Target.from_input(value) if isinstance(value, Mapping) else value


TargetInput = Annotated[Target, BeforeValidator(_target_from_input)]


def _error_from_json(value: Any) -> ExportError:
    if isinstance(value, ExportError):
        return value
    if not isinstance(value, Mapping):
        raise ValueError("an activity error must be a mapping")
    try:
        return ExportError.from_dict(dict(value))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"an activity error lacks or mistypes {exc}") from None


ErrorJson = Annotated[ExportError, PlainValidator(_error_from_json), PlainSerializer(ExportError.to_dict)]


class Contract(Versioned, Additive):
    """A value in the history: frozen, versioned, and read back with `from_json` from what `to_json` wrote."""

    model_config = ConfigDict(frozen=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")  # fields in ADDED_LATER left out while unused (`versioned.Additive`)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        return cls.model_validate(data)


def undecodable(what: str, exc: Exception) -> ContractError:
    """The permanent failure for a value that cannot be decoded, saying what was wrong with it."""
    if isinstance(exc, ValidationError):
        reason = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'value'}: {error['msg']}" for error in exc.errors()[:3]
        )
    else:
        reason = str(exc)
    return ContractError(ErrorKind.PERMANENT, f"{what} cannot be decoded: {clip(reason, MAX_DECODE_REASON)}")


C = TypeVar("C", bound=Contract)


def decode(data: Any, kind: type[C], what: str) -> C:
    """`data` read as `kind`; a `ContractError` saying what was wrong if it cannot be."""
    try:
        return kind.from_json(data)
    except (ValidationError, UnsupportedVersion) as exc:
        raise undecodable(what, exc) from None


class TargetRef(BaseModel):
    """What an event needs of a target: its name and connector."""

    model_config = ConfigDict(frozen=True)

    name: str
    connector: str


class CreateJobRequest(Contract):
    target: TargetInput
    exclude_job_ids: list[str] = []  # jobs this run gave up on: a look-up for our own job skips them
    not_before: str | None = None  # when this create was first decided: a job of ours cannot be older
    instance_id: str | None = (
        None  # whose create: a look-up skips jobs other instances claim; names the run in telemetry
    )


class CheckJobRequest(Contract):
    target: TargetInput
    job_id: str
    job_ref: str | None = None  # the job as a URL (a Location), when the upstream gave one: polled through it
    ADDED_LATER = frozenset({"job_ref"})
    instance_id: str | None = None  # for telemetry only


class DownloadRequest(Contract):
    target: TargetInput
    job: JobStatus
    instance_id: str
    ready_at: str | None = None  # for telemetry only: when a status call saw the result ready (orchestration clock)


class PublishRequest(Contract):
    target: TargetRef
    outcome: Literal["succeeded", "failed"]
    instance_id: str
    job_id: str | None
    blob: BlobRef | None = None
    manifest: str | None = None
    error: str | None = None
    # For telemetry only (the publish activity records the run's metrics, as the orchestrator must not).
    started_at: str | None = None
    polls: int | None = None
    recreations: int | None = None
    failure_kind: str | None = None  # a failed run: deadline, recreations, transient, permanent, auth, ...
    parts: int | None = None
    bytes: int | None = None
    no_data: bool = False
    cleanup: CleanupOutcome | None = None
    abandoned_job_ids: list[str] = []  # jobs given up on: parts they left without a manifest are removed
    ADDED_LATER = frozenset({"parts", "bytes", "no_data", "cleanup", "abandoned_job_ids"})


class JobAnswer(Contract):
    """What the create and check activities learned about the upstream job."""

    job: JobStatus
    adopted: bool = False  # create only: the job was found running upstream rather than started by this call
    min_interval_s: float = 0.0  # the connector's least time between two calls, honoured by the poll policy
    ADDED_LATER = frozenset({"min_interval_s"})


class CleanupRequest(Contract):
    """Delete or abort the upstream job where the connector has such a call (best effort, never fails a run)."""

    target: TargetInput
    job: JobStatus
    when: CleanupWhen


class CleanupAnswer(Contract):
    """What the cleanup activity did."""

    cleanup: CleanupOutcome


class StoredExport(Contract):
    """The download activity's answer: the committed blob (or parts) and its manifest.

    `blob` is the one blob of a single-file result; a multi-part result names none (its parts are in the
    manifest) and a job with no data neither. `parts`/`bytes` are unset in answers of the previous release."""

    blob: BlobRef | None = None
    manifest: str
    reused: bool = False  # an earlier attempt had already stored this job
    parts: int | None = None
    bytes: int | None = None
    no_data: bool = False
    cleanup: CleanupOutcome | None = None  # the upstream cleanup after the store, where the connector has one
    ADDED_LATER = frozenset({"parts", "bytes", "no_data", "cleanup"})


class Failure(Contract):
    """A classified failure, answered instead of raised so the orchestrator decides what it means."""

    error: ErrorJson


A = TypeVar("A", bound=Contract)


def read_answer(answer: Any, kind: type[A], activity: str = "an activity") -> A | ExportError:
    """An activity's recorded answer: the `kind` it promised, or the classified failure it answered instead.

    An answer that is neither (corrupt, or of a release this one does not read) is a permanent `ContractError`:
    the history holds it, so no retry could read it differently.
    """
    try:
        if isinstance(answer, Mapping) and "error" in answer:
            return Failure.from_json(answer).error
        return kind.from_json(answer)
    except (ValidationError, UnsupportedVersion) as exc:
        return undecodable(f"the answer of {activity}", exc)


Phase = Literal["starting", "creating", "polling", "waiting", "downloading", "notifying", "succeeded", "failed"]


class ExportProgress(Contract):
    """An export orchestration's custom status: the one shape the scheduler, the CLI and the status API read.

    Every field is required, so a status without one (renamed, or not an export's) reads as no progress at all
    rather than as a default that looks plausible.
    """

    phase: Phase
    target: str
    job_id: str | None
    upstream_status: str | None
    polls: int
    next_poll_at: str | None
    bytes: int | None
    recreations: int
    generation: int
    deadline_at: str
    last_error: str | None
    # Added later, so optional (a status of the previous release has none): the parts committed so far, which
    # the status endpoint fills while a multi-part download runs (the orchestrator cannot see them).
    parts_stored: int | None = None
    job_ref: str | None = None  # the job as a URL when the upstream gave one: what a cancel cleans up through
    ADDED_LATER = frozenset({"parts_stored", "job_ref"})

    @classmethod
    def read(cls, custom_status: Any) -> ExportProgress | None:
        """An instance's custom status as export progress; None for none yet, another orchestration's status, or
        one of a release this one does not read."""
        try:
            return cls.from_json(custom_status)
        except (ValidationError, UnsupportedVersion):
            return None


class ScheduledExport(BaseModel):
    """One export of a scheduler tick: its validated target, run key and (deterministic) instance id."""

    model_config = ConfigDict(frozen=True)

    target: TargetInput
    run_key: str
    instance_id: str


class SchedulePlan(Contract):
    """The scheduler orchestration's input: the tick's exports and how many may run at once."""

    exports: list[ScheduledExport]
    max_in_flight: int | None = None  # at least 1 is used


class ExportOutcome(Contract):
    """A succeeded export orchestration's output: what the CLI prints and the status API returns."""

    status: Literal["succeeded"] = "succeeded"
    target: str
    connector: str
    job_id: str | None
    blob: BlobRef | None  # None for a multi-part result (see `parts`) or a job with no data
    manifest: str
    reused: bool
    polls: int
    recreations: int
    generation: int
    parts: int | None = None
    bytes: int | None = None
    no_data: bool = False
    ADDED_LATER = frozenset({"parts", "bytes", "no_data"})
    event: dict[str, Any]  # the CloudEvent as published (`sinks.events.to_json_dict`), schema_version in its data
