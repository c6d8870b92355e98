"""The values that cross the Durable boundary: what each activity takes and answers, and an export's progress.

Both sides parse through these types instead of reading dict keys, so a renamed field breaks its readers where
mypy and the tests see it, not silently in production. Their JSON is what the history and the custom status hold,
with the key names the untyped dicts had before: an orchestration in flight across a deployment replays the
answers its activities recorded earlier, and a status written by the previous version still reads.

Orchestrators import this module, so it holds no I/O: the target travels as the JSON of `Target.to_input`, and
the activity that uses it validates it into `targets.Target`. A stored blob travels as the JSON of the sink's
`BlobRef` for the same reason (the sink's model imports the storage SDK).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator, ValidationError

from connectors.base import JobStatus, UpstreamError

TargetJson = dict[str, Any]  # `Target.to_input()`
BlobJson = dict[str, Any]  # `sinks.manifest.BlobRef.model_dump()`


def _error_from_json(value: Any) -> UpstreamError:
    if isinstance(value, UpstreamError):
        return value
    if not isinstance(value, Mapping):
        raise ValueError("an activity error must be a mapping")
    return UpstreamError.from_dict(dict(value))


ErrorJson = Annotated[UpstreamError, PlainValidator(_error_from_json), PlainSerializer(UpstreamError.to_dict)]


class Contract(BaseModel):
    """A value in the history: frozen, and read back with `from_json` from what `to_json` wrote."""

    model_config = ConfigDict(frozen=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: Any) -> Self:
        return cls.model_validate(data)


class TargetRef(Contract):
    """What an event needs of a target: its name and connector."""

    name: str
    connector: str


class CreateJobRequest(Contract):
    target: TargetJson
    exclude_job_ids: list[str] = []  # jobs this run gave up on: a look-up for our own job skips them
    not_before: str | None = None  # when this create was first decided: a job of ours cannot be older
    instance_id: str | None = None  # whose create: a look-up skips jobs other instances claim


class CheckJobRequest(Contract):
    target: TargetJson
    job_id: str


class DownloadRequest(Contract):
    target: TargetJson
    job: JobStatus
    instance_id: str


class PublishRequest(Contract):
    target: TargetRef
    outcome: Literal["succeeded", "failed"]
    instance_id: str
    job_id: str | None
    blob: BlobJson | None = None
    manifest: str | None = None
    error: str | None = None


class JobAnswer(Contract):
    """What the create and check activities learned about the upstream job."""

    job: JobStatus
    adopted: bool = False  # create only: the job was found running upstream rather than started by this call


class StoredExport(Contract):
    """The download activity's answer: the committed blob and its manifest."""

    blob: BlobJson
    manifest: str
    reused: bool = False  # an earlier attempt had already stored this job


class Failure(Contract):
    """A classified failure, answered instead of raised so the orchestrator decides what it means."""

    error: ErrorJson


A = TypeVar("A", bound=Contract)


def read_answer(answer: Any, kind: type[A]) -> A | UpstreamError:
    """An activity's recorded answer: the `kind` it promised, or the classified failure it answered instead."""
    if isinstance(answer, Mapping) and "error" in answer:
        return Failure.from_json(answer).error
    return kind.from_json(answer)


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

    @classmethod
    def read(cls, custom_status: Any) -> ExportProgress | None:
        """An instance's custom status as export progress; None for none yet or another orchestration's status."""
        try:
            return cls.from_json(custom_status)
        except ValidationError:
            return None
