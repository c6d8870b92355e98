"""The export orchestration: create the upstream job, poll it patiently, download it once, announce it.

It only decides. Every upstream or storage call is an activity; every wait is a
durable timer sized by `poll_policy.next_wait`; the only clock is
`context.current_utc_datetime`. That makes each replay of the history take the
same path, so the orchestration survives restarts of the host. After
`polls_per_generation` polls it continues as new, carrying the small
`ExportState`, so a job that runs for days keeps a short history.

Activities answer a `Failure` for classified failures instead of raising, so
the decisions (wait, adopt, re-create, fail) are all made here, by the one
table in `orchestrators.failure_policy`. Every request, answer, the input, the
output and the custom status are the versioned types of
`orchestrators.contracts`; an input or answer that cannot be decoded fails the
export at once with what was wrong, since replaying cannot change it.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

import azure.durable_functions as df
from pydantic import ValidationError

from connectors.base import CleanupWhen, JobState, JobStatus
from kernel.errors import ActivityFailed, ErrorKind, ExportError
from kernel.redaction import clip
from kernel.results import CleanupOutcome
from kernel.timestamps import to_iso
from orchestrators import names, poll_policy
from orchestrators.contracts import (
    CheckJobRequest,
    CleanupAnswer,
    CleanupRequest,
    Contract,
    CreateJobRequest,
    DownloadRequest,
    ExportOutcome,
    ExportProgress,
    JobAnswer,
    Phase,
    PublishRequest,
    StoredExport,
    TargetRef,
    read_answer,
    undecodable,
)
from orchestrators.export_state import MAX_REASON, MAX_SHOWN_ID, ExportInput, ExportState
from orchestrators.failure_policy import Remedy, failure_kind, refusal, remedy
from orchestrators.poll_policy import fire_at, next_wait
from sinks.blob_ref import BlobRef
from targets import Target
from targets.poll_settings import PollSettings
from versioned import UnsupportedVersion

# The SDK's context and tasks are untyped; the generator protocol is what matters here.
Context = Any
Steps = Generator[Any, Any, Any]
A = TypeVar("A", bound=Contract)


class ExportFailed(Exception):
    """Ends the orchestration as Failed; the message is what the user reads."""


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _shown(value: str | None) -> str | None:
    """A job id or upstream status as messages and custom status show it: bounded (the real one stays whole)."""
    return clip(value, MAX_SHOWN_ID) if value else None


def _short(job_id: str | None) -> str:
    return _shown(job_id) or "-"


def export_orchestrator(context: Context) -> Steps:
    """Entry point registered with the Durable Functions app and run by the local runner."""
    run = ExportRun(context, context.get_input())
    return (yield from run.execute())


def _decoded_input(raw: Any) -> tuple[ExportInput | None, str | None]:
    """The orchestration input, or why it cannot be used (the run then fails with that reason and an event)."""
    try:
        return ExportInput.from_dict(raw), None
    except (ValidationError, UnsupportedVersion) as exc:
        target = raw.get("target") if isinstance(raw, dict) else None
        try:
            PollSettings.from_input(target.get("poll") if isinstance(target, dict) else None)
        except ValueError as poll_error:
            return None, f"invalid poll settings: {clip(str(poll_error), 500)}"
        return None, undecodable("the orchestration input", exc).message


def _ref_of(raw: Any) -> TargetRef:
    """Name and connector of the target an input names, shown even when the rest of the input is unusable."""
    target = raw.get("target") if isinstance(raw, dict) else None
    given = target if isinstance(target, dict) else {}
    name, connector = given.get("name"), given.get("connector")
    return TargetRef(
        name=clip(name, MAX_SHOWN_ID) if isinstance(name, str) else "?",
        connector=clip(connector, MAX_SHOWN_ID) if isinstance(connector, str) else "?",
    )


class ExportRun:
    """One generation of one export; holds the loop's local variables, never I/O."""

    def __init__(self, context: Context, raw_input: Any) -> None:
        self.context = context
        request, self.refusal = _decoded_input(raw_input)  # an unusable input fails with an event, never dies
        self.run_key = request.run_key if request else ""
        self._target = request.target if request else None
        self.ref = (
            TargetRef(name=request.target.name, connector=request.target.connector) if request else _ref_of(raw_input)
        )
        self.settings = request.target.poll if request else PollSettings()
        now = context.current_utc_datetime
        self.state = (request.state if request else None) or ExportState(
            started_at=to_iso(now),
            deadline_at=to_iso(now + timedelta(seconds=self.settings.deadline_s)),
            job_started_at=to_iso(now),
        )
        self.job: JobStatus | None = None
        self.phase: Phase = "starting"
        self.next_poll_at: str | None = None
        self.bytes: int | None = None
        self.ready_at: str | None = None  # when a status call saw the result ready (telemetry only)
        # A generation starts right after a wait (or at the start), whose check covered the deadline.
        self.deadline_checked = True

    @property
    def target(self) -> Target:
        assert self._target is not None, "a refused input never reaches a step that calls an activity"
        return self._target

    # -- the loop -------------------------------------------------------------------------------

    def execute(self) -> Steps:
        if self.refusal is not None:
            yield from self._fail(self.refusal, kind="invalid_settings")
        wait: tuple[float | None, int] | None = None
        while True:
            if wait is not None:
                yield from self._sleep(*wait)
                wait = None
                if self.state.polls_this_generation >= poll_policy.POLLS_PER_GENERATION:
                    self._continue_as_new()
                    return None
            if self.job is None or self.job.state.is_active:
                wait = yield from self._create_or_poll()
            elif self.job.state.is_success:  # succeeded, with warnings, or with no data (an empty manifest)
                outcome = yield from self._download()
                if isinstance(outcome, StoredExport):
                    return (yield from self._succeed(outcome))
                wait = outcome
            else:
                busy = self.job.retry_after_s if self.job.state is JobState.FAILED else None
                yield from self._recreate(self.job.failure_reason or f"upstream job {self.job.upstream_status}")
                if busy is not None:  # "failed, try again later": the server's wait comes before the new job
                    wait = (busy, 0)

    def _create_or_poll(self) -> Steps:
        """One create or status call; returns the wait before the next one (or None to act now)."""
        if not self.deadline_checked and self.context.current_utc_datetime >= _parse_iso(self.state.deadline_at):
            yield from self._fail(self._deadline_message(), kind="deadline")
        self.deadline_checked = False
        job_id = self.state.job_id
        creating = job_id is None
        if job_id is None:
            self.phase = "creating"
            self._publish_status()
            answer = yield from self._call(names.CREATE_JOB, self._create_request(), JobAnswer)
        else:
            self.phase = "polling"
            self.state = self.state.evolve(
                polls=self.state.polls + 1, polls_this_generation=self.state.polls_this_generation + 1
            )
            request = CheckJobRequest(
                target=self.target, job_id=job_id, job_ref=self.state.job_ref, instance_id=self.context.instance_id
            )
            answer = yield from self._call(names.CHECK_JOB, request, JobAnswer)
        if isinstance(answer, ExportError):
            return (yield from self._on_error(answer, creating=creating))
        job = answer.job
        progressed = self.job is None or job.state != self.job.state
        if job.state.is_success and progressed:
            self.ready_at = to_iso(self.context.current_utc_datetime)
        self.job = job
        self.state = self.state.evolve(
            job_id=job.job_id,
            job_ref=job.job_ref,
            min_interval_s=answer.min_interval_s,
            upstream_status=job.upstream_status,
            transient_failures=0,
            waits_without_progress=0 if progressed else self.state.waits_without_progress + 1,
            last_error=None,
        )
        self._publish_status()
        return (job.retry_after_s, self.state.waits_without_progress) if job.state.is_active else None

    def _download(self) -> Steps:
        """Stream the result into Blob Storage; returns the result, or the wait before trying again."""
        assert self.job is not None
        self.phase = "downloading"
        self._publish_status()
        request = DownloadRequest(
            target=self.target, job=self.job, instance_id=self.context.instance_id, ready_at=self.ready_at
        )
        answer = yield from self._call(names.DOWNLOAD, request, StoredExport)
        if not isinstance(answer, ExportError):
            self.state = self.state.evolve(last_error=None)
            return answer
        gone = f"the result of job {_short(self.state.job_id)} expired before download"
        return (yield from self._on_error(answer, gone=gone))

    def _on_error(self, error: ExportError, *, creating: bool = False, gone: str | None = None) -> Steps:
        """Do what `failure_policy` says about a classified failure; returns the wait before retrying the same step
        (None: go on at once). `gone` is the reason given when the job has to be created again."""
        self.state = self.state.evolve(last_error=str(error))
        action = remedy(error, creating=creating)
        if action is Remedy.ADOPT:
            # The create call met a running job (ours from an earlier attempt, or another run's): adopt it. Only
            # a create can adopt, so a job is adopted once; a 409 on a poll is waited out like a transient failure.
            self.state = self.state.evolve(job_id=error.existing_job_id, job_ref=None)
            return None
        if action is Remedy.RECREATE:
            yield from self._recreate(gone or f"upstream job {_short(self.state.job_id)} is gone: {error.message}")
            return None
        if action is Remedy.FAIL:
            yield from self._fail(refusal(error), kind=failure_kind(error))
        failures = self.state.transient_failures + 1
        self.state = self.state.evolve(transient_failures=failures)
        if failures > poll_policy.MAX_TRANSIENT_FAILURES:
            yield from self._fail(
                f"gave up after {failures} consecutive transient failures; last: {error}", kind="transient"
            )
        return (error.retry_after_s, failures - 1)

    def _recreate(self, reason: str) -> Steps:
        recreations = self.state.recreations + 1
        if recreations > self.settings.max_recreations:
            yield from self._fail(
                f"upstream job {_short(self.state.job_id)} did not produce a result ({clip(reason, MAX_REASON)}); "
                f"re-created {self.state.recreations} time(s), the limit is {self.settings.max_recreations}",
                kind="recreations",
            )
        discarded = [*self.state.discarded_job_ids, *([self.state.job_id] if self.state.job_id else [])]
        self.state = self.state.evolve(
            job_id=None,
            job_ref=None,
            upstream_status=None,
            recreations=recreations,
            last_error=reason,
            waits_without_progress=0,
            discarded_job_ids=discarded[-(self.settings.max_recreations + 1) :],
            job_started_at=to_iso(self.context.current_utc_datetime),  # the next job is young, whatever the run's age
        )
        self.job = None

    # -- waiting --------------------------------------------------------------------------------

    def _sleep(self, retry_after_s: float | None, attempt: int) -> Steps:
        now = self.context.current_utc_datetime
        wait_s = next_wait(
            now=now,
            started=_parse_iso(self.state.job_started_at or self.state.started_at),
            deadline=_parse_iso(self.state.deadline_at),
            retry_after_s=retry_after_s,
            attempt=attempt,
            settings=self.settings,
            seed=self.context.instance_id,
            min_interval_s=self.state.min_interval_s,
        )
        if wait_s is None:
            yield from self._fail(self._deadline_message(), kind="deadline")
        self.deadline_checked = True
        due = fire_at(now, wait_s or 0)
        self.phase = "waiting"
        self.next_poll_at = to_iso(due)
        self._publish_status()
        yield self.context.create_timer(due)
        self.next_poll_at = None

    def _deadline_message(self) -> str:
        status = clip(self.state.upstream_status or "not created", MAX_SHOWN_ID)
        return (
            f"deadline of {self.settings.deadline_s:g} s passed after {self.state.polls} poll(s); "
            f"upstream job {_short(self.state.job_id)} was still {status}"
        )

    # -- endings --------------------------------------------------------------------------------

    def _succeed(self, result: StoredExport) -> Steps:
        self.bytes = result.bytes if result.bytes is not None else (result.blob.size if result.blob else 0)
        self.phase = "notifying"
        self._publish_status()
        try:
            event = yield from self._notify("succeeded", blob=result.blob, manifest=result.manifest, stored=result)
        except Exception as exc:
            self.phase = "failed"
            self._publish_status()
            stored_as = result.blob.name if result.blob else result.manifest
            raise ExportFailed(
                f"export {self.ref.name} is stored as {stored_as} but its event could not be "
                f"published: {clip(_first_line(exc), MAX_REASON)}"
            ) from None
        self.phase = "succeeded"
        self._publish_status()
        return ExportOutcome(
            target=self.ref.name,
            connector=self.ref.connector,
            job_id=self.state.job_id,
            blob=result.blob,
            manifest=result.manifest,
            reused=result.reused,
            parts=result.parts,
            bytes=result.bytes,
            no_data=result.no_data,
            polls=self.state.polls,
            recreations=self.state.recreations,
            generation=self.state.generation,
            event=event,
        ).to_json()

    def _fail(self, message: str, *, kind: str) -> Steps:
        message = clip(message, MAX_REASON)
        self.state = self.state.evolve(last_error=message)
        cleanup = (yield from self._cleanup("on_deadline")) if kind == "deadline" else None
        self.phase = "notifying"
        self._publish_status()
        try:
            yield from self._notify("failed", error=message, failure_kind=kind, cleanup=cleanup)
        except Exception as exc:  # the upstream reason matters more than the event's; keep both
            message += f" (and the failure event could not be published: {clip(_first_line(exc), 500)})"
        self.phase = "failed"
        self._publish_status()
        raise ExportFailed(f"export {self.ref.name} failed: {message}")

    def _notify(
        self,
        outcome: Literal["succeeded", "failed"],
        *,
        blob: BlobRef | None = None,
        manifest: str | None = None,
        error: str | None = None,
        failure_kind: str | None = None,
        stored: StoredExport | None = None,
        cleanup: CleanupOutcome | None = None,
    ) -> Steps:
        request = PublishRequest(
            target=self.ref,
            outcome=outcome,
            instance_id=self.context.instance_id,
            job_id=self.state.job_id,
            blob=blob,
            manifest=manifest,
            error=error,
            started_at=self.state.started_at,
            polls=self.state.polls,
            recreations=self.state.recreations,
            failure_kind=failure_kind,
            parts=stored.parts if stored else None,
            bytes=stored.bytes if stored else None,
            no_data=stored.no_data if stored else False,
            cleanup=stored.cleanup if stored else cleanup,
            abandoned_job_ids=[
                *self.state.discarded_job_ids,
                *([self.state.job_id] if outcome == "failed" and self.state.job_id else []),
            ],
        )
        retry = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=5)
        return (yield self.context.call_activity_with_retry(names.PUBLISH_EVENT, retry, request.to_json()))

    def _cleanup(self, when: CleanupWhen) -> Generator[Any, Any, CleanupOutcome | None]:
        """Delete or abort the upstream job where the connector can (the deadline passed): best effort, so a
        failure of the call or the activity is recorded in the event, never raised."""
        if self.state.job_id is None:
            return None
        job = self.job or JobStatus(self.state.job_id, JobState.RUNNING, self.state.upstream_status or "")
        if job.job_ref is None and self.state.job_ref is not None:
            job = JobStatus(job.job_id, job.state, job.upstream_status, job_ref=self.state.job_ref)
        request = CleanupRequest(target=self.target, job=job, when=when)
        answer = yield from self._call(names.CLEANUP_JOB, request, CleanupAnswer)
        if isinstance(answer, ExportError):
            return CleanupOutcome(sent=True, error=clip(str(answer), MAX_REASON))
        return answer.cleanup

    def _continue_as_new(self) -> None:
        carried = self.state.evolve(polls_this_generation=0, generation=self.state.generation + 1)
        self.context.continue_as_new(ExportInput(target=self.target, run_key=self.run_key, state=carried).to_dict())

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, name: str, request: Contract, answer: type[A]) -> Generator[Any, Any, A | ExportError]:
        """Call an activity. An activity that crashed without classifying its failure counts as transient (the
        host reports its own failures, a timeout or a lost worker, the same way); an answer that cannot be
        decoded is permanent."""
        try:
            recorded = yield self.context.call_activity(name, request.to_json())
        except Exception as exc:  # the SDK raises the activity's failure as "<reason> \n <details>"
            reason = clip(_first_line(exc).removeprefix(f"Activity function '{name}' failed:").strip(), 500)
            return ActivityFailed(ErrorKind.TRANSIENT, f"activity {name} failed: {reason}")
        return read_answer(recorded, answer, f"activity {name}")

    def _create_request(self) -> CreateJobRequest:
        """The create call also names the jobs this run gave up on, so a look-up for our own job skips them,
        when this create was first decided (no job of ours is older) and whose create it is (for claims)."""
        return CreateJobRequest(
            target=self.target,
            exclude_job_ids=self.state.discarded_job_ids,
            # The current job's start (the run's, or its re-creation's): a look-up adopts only a job created after
            # it, less the clock skew bound. States of the release before it count from the run's start.
            not_before=self.state.job_started_at or self.state.started_at,
            instance_id=self.context.instance_id,
        )

    def _publish_status(self) -> None:
        progress = ExportProgress(
            phase=self.phase,
            target=self.ref.name,
            job_id=_shown(self.state.job_id),
            upstream_status=_shown(self.state.upstream_status),
            polls=self.state.polls,
            next_poll_at=self.next_poll_at,
            bytes=self.bytes,
            recreations=self.state.recreations,
            generation=self.state.generation,
            deadline_at=self.state.deadline_at,
            last_error=self.state.last_error,
            job_ref=self.state.job_ref,
        )
        self.context.set_custom_status(progress.to_json())


def _first_line(exc: BaseException) -> str:
    """An exception's first line (the SDK raises an activity's failure as "<reason> \\n <details>")."""
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__
