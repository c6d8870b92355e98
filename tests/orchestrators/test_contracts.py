"""The Durable boundary's types: what the previous version recorded still reads, and every progress reader parses
the custom status the orchestrator writes through `ExportProgress`, so a renamed field cannot go unnoticed."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import azure.functions as func
import pytest
from rich.console import Console

from app_functions import ORCHESTRATORS
from connectors.base import JobState
from kernel.errors import ErrorKind, UpstreamError
from local.cli import summary
from local.progress import ProgressPrinter
from local.runner import LocalRunner, OrchestrationResult, RunnerEvent
from orchestrators import names
from orchestrators.contracts import (
    CheckJobRequest,
    CreateJobRequest,
    DownloadRequest,
    ExportProgress,
    JobAnswer,
    PublishRequest,
    StoredExport,
    read_answer,
)
from orchestrators.export_state import ExportInput
from orchestrators.instance_ids import export_instance_id
from sinks.blob_ref import BlobRef
from targets import Target, parse_targets
from tests.triggers.fake_durable_host import LOOP, fake_durable_host
from triggers import http_api
from triggers.schedule_tick import busy_target_names

TARGET = {
    "name": "goals",
    "connector": "sailpoint",
    "base_url": "https://acme.api.identitynow.com/v2025",
    "auth": {"kind": "bearer_env", "env": "T"},
}
JOB = {
    "job_id": "j-1",
    "state": "running",
    "upstream_status": "IN_PROGRESS",
    "retry_after_s": None,
    "expires_at": None,
    "failure_reason": None,
    "download_url": None,
    "created_at": "2026-03-01T02:00:00Z",
}
BLOB = {
    "container": "exports",
    "name": "goals/j-1.json",
    "url": "http://127.0.0.1/exports/goals/j-1.json",
    "size": 42,
    "sha256": "ab" * 32,
    "content_type": "application/json",
}


# -- what the previous version recorded (activity inputs and answers, orchestration inputs) still reads ----------


def test_answers_recorded_by_the_untyped_version_read_into_the_types() -> None:
    created = read_answer({"job": JOB, "adopted": True}, JobAnswer)
    checked = read_answer({"job": {**JOB, "state": "succeeded"}}, JobAnswer)  # the check answer had no "adopted"
    stored = read_answer({"blob": BLOB, "manifest": "goals/_manifests/j-1.json", "reused": False}, StoredExport)
    assert isinstance(created, JobAnswer)
    assert isinstance(checked, JobAnswer)
    assert isinstance(stored, StoredExport)
    assert (created.job.job_id, created.job.state, created.adopted) == ("j-1", JobState.RUNNING, True)
    assert (checked.job.state, checked.adopted) == (JobState.SUCCEEDED, False)
    assert stored.blob is not None
    assert (stored.blob.model_dump(), stored.manifest) == (BLOB, "goals/_manifests/j-1.json")
    error = {
        "kind": "conflict",
        "message": "busy",
        "status_code": 409,
        "code": None,
        "retry_after_s": 5.0,
        "existing_job_id": "j-0",
    }
    failure = read_answer({"error": error}, JobAnswer)
    assert isinstance(failure, UpstreamError)
    assert (failure.kind, failure.existing_job_id, failure.retry_after_s) == (ErrorKind.CONFLICT, "j-0", 5.0)


def test_answers_are_written_in_the_shape_the_untyped_version_wrote_plus_their_version() -> None:
    """Same keys, same order, `schema_version` first: a history mixing answers of both versions is one format."""
    job = JobAnswer.from_json({"job": JOB}).job
    answer = {"schema_version": 2, "job": JOB, "adopted": True}
    assert JobAnswer(job=job, adopted=True).to_json() == answer
    assert json.dumps(JobAnswer(job=job, adopted=True).to_json()) == json.dumps(answer)
    stored = StoredExport(blob=BlobRef.model_validate(BLOB), manifest="m", reused=True).to_json()
    assert json.dumps(stored) == json.dumps({"schema_version": 2, "blob": BLOB, "manifest": "m", "reused": True})


def test_activity_requests_scheduled_by_the_untyped_version_read_into_the_types() -> None:
    create = CreateJobRequest.from_json({"target": TARGET, "exclude_job_ids": ["j-0"], "not_before": "2026-03-01"})
    check = CheckJobRequest.from_json({"target": TARGET, "job_id": "j-1"})
    download = DownloadRequest.from_json({"target": TARGET, "job": JOB, "instance_id": "i"})
    publish = PublishRequest.from_json(
        {
            "target": {"name": "goals", "connector": "sailpoint"},
            "outcome": "succeeded",
            "instance_id": "i",
            "job_id": "j-1",
            "blob": BLOB,
            "manifest": "m",
        }
    )
    assert (create.exclude_job_ids, check.job_id, download.job.job_id) == (["j-0"], "j-1", "j-1")
    assert (publish.target.name, publish.blob, publish.error) == ("goals", BlobRef.model_validate(BLOB), None)


def test_a_target_carried_by_an_earlier_orchestration_input_validates_in_an_activity() -> None:
    """Inputs written before the poll knobs became constants hold ten poll keys, the unset ones null."""
    earlier_poll = {
        "floor_s": 1.0,
        "ceiling_s": 30.0,
        "factor": None,
        "jitter": None,
        "min_wait_s": None,
        "max_server_wait_s": None,
        "deadline_s": None,
        "max_recreations": 1,
        "max_transient_failures": None,
        "polls_per_generation": 3,
    }
    target = Target.from_input(
        {**TARGET, "params": {}, "schedule": None, "max_export_bytes": None, "poll": earlier_poll}
    )
    assert (target.poll.floor_s, target.poll.ceiling_s, target.poll.max_recreations) == (1.0, 30.0, 1)
    assert Target.from_input(target.to_input()) == target


# -- the custom status the orchestrator writes, through every reader -----------------------------------------------


def stand_in_activities() -> dict[str, Any]:
    """Answers in the contract's types, no I/O: the job runs for one poll, then its result is stored."""
    polls: list[str] = []

    def create(payload: dict[str, Any]) -> dict[str, Any]:
        CreateJobRequest.from_json(payload)
        return {"job": JOB, "adopted": False}

    def check(payload: dict[str, Any]) -> dict[str, Any]:
        polls.append(CheckJobRequest.from_json(payload).job_id)
        return {"job": {**JOB, "state": "succeeded" if len(polls) > 1 else "running"}}

    def download(payload: dict[str, Any]) -> dict[str, Any]:
        DownloadRequest.from_json(payload)
        return StoredExport(blob=BlobRef.model_validate(BLOB), manifest="goals/_manifests/j-1.json").to_json()

    def publish(payload: dict[str, Any]) -> dict[str, Any]:
        return {"id": PublishRequest.from_json(payload).outcome}

    return {names.CREATE_JOB: create, names.CHECK_JOB: check, names.DOWNLOAD: download, names.PUBLISH_EVENT: publish}


@pytest.fixture(scope="module")
def written() -> tuple[Target, OrchestrationResult, list[Any]]:
    """Every custom status one export's orchestrator wrote, and the run's result."""
    target = parse_targets({"targets": [TARGET]})["goals"]
    events: list[RunnerEvent] = []
    runner = LocalRunner(ORCHESTRATORS, stand_in_activities(), timer_scale=0, on_event=events.append)
    request = ExportInput(target=target, run_key="contract").to_dict()
    result = runner.run(names.EXPORT_ORCHESTRATION, request, export_instance_id(target.name, "contract"))
    assert result.status == "Completed", result.error
    return target, result, [e.detail["status"] for e in events if e.kind == "custom_status"]


def renamed(status: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return {(new if key == old else key): value for key, value in status.items()}


def test_the_orchestrator_writes_every_status_as_export_progress(
    written: tuple[Target, OrchestrationResult, list[Any]],
) -> None:
    _, _, statuses = written
    progress = [ExportProgress.read(status) for status in statuses]
    assert all(p is not None and p.to_json() == s for p, s in zip(progress, statuses, strict=True))
    phases = [(p.phase, p.polls) for p in progress if p]
    assert phases == [
        ("creating", 0),
        ("waiting", 0),
        ("waiting", 1),
        ("downloading", 2),
        ("notifying", 2),
        ("succeeded", 2),
    ]


def test_the_schedulers_busy_check_reads_the_target_through_the_type(
    written: tuple[Target, OrchestrationResult, list[Any]],
) -> None:
    _, _, statuses = written
    assert all(busy_target_names([SimpleNamespace(custom_status=s)]) == {"goals"} for s in statuses)
    assert busy_target_names([SimpleNamespace(custom_status=renamed(statuses[0], "target", "name"))]) == set()


def printed(statuses: list[Any]) -> str:
    out = io.StringIO()
    printer = ProgressPrinter(Console(file=out, width=400))
    for status in statuses:
        printer(RunnerEvent("custom_status", "i", {"status": status}))
    return out.getvalue()


def test_the_cli_progress_reads_each_status_through_the_type(
    written: tuple[Target, OrchestrationResult, list[Any]],
) -> None:
    _, _, statuses = written
    lines = printed(statuses).splitlines()
    assert lines[0] == "goals creating · polls 0"
    assert lines[-1] == "goals succeeded · job j-1 · upstream IN_PROGRESS · polls 2 · 42 bytes"
    assert printed([renamed(s, "phase", "stage") for s in statuses]) == ""


def test_the_cli_summary_reads_the_last_status_through_the_type(
    written: tuple[Target, OrchestrationResult, list[Any]],
) -> None:
    target, result, _ = written
    failed_early = replace(result, output=None)  # a run that ended without an output: the status tells
    assert (summary(target, failed_early)["job_id"], summary(target, failed_early)["polls"]) == ("j-1", 2)
    renamed_run = replace(failed_early, custom_status=renamed(result.custom_status, "polls", "n"))
    assert summary(target, renamed_run)["polls"] is None


def test_the_status_endpoint_reads_progress_through_the_type(
    written: tuple[Target, OrchestrationResult, list[Any]],
) -> None:
    _, result, statuses = written
    instance_id = result.instance_id
    with fake_durable_host() as host:
        for status, expected in ((statuses[2], statuses[2]), (renamed(statuses[2], "job_id", "id"), None)):
            host.instances[instance_id] = {
                "name": names.EXPORT_ORCHESTRATION,
                "instanceId": instance_id,
                "runtimeStatus": "Running",
                "customStatus": status,
            }
            get = func.HttpRequest(
                "GET", "http://127.0.0.1/api/exports", body=b"", route_params={"instance_id": instance_id}
            )
            answer = LOOP.run_until_complete(http_api.export_status(get, host.client()))
            assert json.loads(answer.get_body())["progress"] == expected
