"""Every persisted shape carries a schema version; readers take the current and the previous one, and refuse
any other by a message naming the version found and the versions accepted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from downstream.consumer import consume_envelope
from local.runner import StoredInstance
from orchestrators.contracts import (
    CheckJobRequest,
    CreateJobRequest,
    DownloadRequest,
    ExportOutcome,
    ExportProgress,
    Failure,
    JobAnswer,
    PublishRequest,
    SchedulePlan,
    StoredExport,
)
from orchestrators.export_state import ExportInput
from orchestrators.scheduler_contracts import (
    ClaimAnswer,
    CloseAnswer,
    CloseRequest,
    LaneInput,
    LaneStatus,
    PlanAnswer,
    PlanRequest,
    SchedulerStatus,
)
from sinks.events import EVENT_DATASCHEMA, build_export_event, read_event_data, to_json_dict
from sinks.manifest import ExportManifest
from targets import Target
from versioned import UnsupportedVersion, accepted, check

TARGET = Target.from_input(  # as `Target.to_input` wrote it
    {
        "name": "goals",
        "connector": "sailpoint",
        "base_url": "https://acme.api.identitynow.com/v2025",
        "auth": {"kind": "bearer_env", "env": "T"},
    }
).to_input()
JOB = {
    "job_id": "j-1",
    "state": "running",
    "upstream_status": "IN_PROGRESS",
    "retry_after_s": None,
    "expires_at": None,
    "failure_reason": None,
    "download_url": None,
    "created_at": None,
}
BLOB = {
    "container": "exports",
    "name": "goals/j-1.json",
    "url": "https://acct.blob.core.windows.net/exports/goals/j-1.json",
    "size": 42,
    "sha256": "ab" * 32,
    "content_type": "application/json",
}
PROGRESS = {
    "phase": "polling",
    "target": "goals",
    "job_id": "j-1",
    "upstream_status": "running",
    "polls": 3,
    "next_poll_at": None,
    "bytes": None,
    "recreations": 0,
    "generation": 1,
    "deadline_at": "2026-03-01T08:00:00Z",
    "last_error": None,
}
MANIFEST = {
    "target": "goals",
    "connector": "sailpoint",
    "job_id": "j-1",
    "instance_id": "i",
    "blob": BLOB,
    "created_at": None,
    "completed_at": "2026-03-01T08:00:00Z",
    "upstream_expires_at": None,
}
STATE = {  # as the dataclass of the release before versions wrote it at continue_as_new
    "started_at": "2026-03-01T02:00:00Z",
    "deadline_at": "2026-03-01T08:00:00Z",
    "job_id": "j-1",
    "upstream_status": "running",
    "polls": 50,
    "polls_this_generation": 0,
    "waits_without_progress": 7,
    "transient_failures": 0,
    "recreations": 1,
    "generation": 2,
    "last_error": None,
    "discarded_job_ids": ["j-0"],
}
INSTANCE = {"name": "export_orchestrator", "input": "{}", "history": [], "generation": 1, "status": "Running"}
ERROR = {
    "kind": "transient",
    "message": "busy",
    "status_code": 503,
    "code": None,
    "retry_after_s": None,
    "existing_job_id": None,
}

# Each shape as the release before versions wrote it (the manifest already carried schema_version 1), with its
# reader and its writer.
Reader = Callable[[dict[str, Any]], Any]
Writer = Callable[[Any], dict[str, Any]]
SHAPES: dict[str, tuple[dict[str, Any], Reader, Writer, int]] = {
    "create request": ({"target": TARGET}, CreateJobRequest.from_json, lambda v: v.to_json(), 2),
    "check request": ({"target": TARGET, "job_id": "j-1"}, CheckJobRequest.from_json, lambda v: v.to_json(), 2),
    "download request": (
        {"target": TARGET, "job": JOB, "instance_id": "i"},
        DownloadRequest.from_json,
        lambda v: v.to_json(),
        2,
    ),
    "publish request": (
        {"target": {"name": "g", "connector": "c"}, "outcome": "failed", "instance_id": "i", "job_id": None},
        PublishRequest.from_json,
        lambda v: v.to_json(),
        2,
    ),
    "job answer": ({"job": JOB}, JobAnswer.from_json, lambda v: v.to_json(), 2),
    "stored answer": ({"blob": BLOB, "manifest": "m"}, StoredExport.from_json, lambda v: v.to_json(), 2),
    "failure answer": ({"error": ERROR}, Failure.from_json, lambda v: v.to_json(), 2),
    "orchestration input": ({"target": TARGET, "run_key": "k"}, ExportInput.from_dict, lambda v: v.to_dict(), 2),
    "continued orchestration input": (
        {"target": TARGET, "run_key": "k", "state": STATE},
        ExportInput.from_dict,
        lambda v: v.to_dict(),
        2,
    ),
    "orchestration output": (
        {
            "status": "succeeded",
            "target": "goals",
            "connector": "sailpoint",
            "job_id": "j-1",
            "blob": BLOB,
            "manifest": "m",
            "reused": False,
            "polls": 1,
            "recreations": 0,
            "generation": 1,
            "event": {},
        },
        ExportOutcome.from_json,
        lambda v: v.to_json(),
        2,
    ),
    "custom status": (PROGRESS, ExportProgress.from_json, lambda v: v.to_json(), 2),
    "scheduler plan": (
        {"exports": [{"target": TARGET, "run_key": "k", "instance_id": "i"}], "max_in_flight": 4},
        SchedulePlan.from_json,
        lambda v: v.to_json(),
        2,
    ),
    "scheduler lane input": (
        {"plan_id": "p", "lane": 1, "claim": 3, "reported": {"index": 5, "outcome": "failed"}},
        LaneInput.from_json,
        lambda v: v.to_json(),
        2,
    ),
    "scheduler plan request": (
        {"plan_id": "p", "exports": [{"target": TARGET, "run_key": "k", "instance_id": "i"}]},
        PlanRequest.from_json,
        lambda v: v.to_json(),
        2,
    ),
    "scheduler plan answer": ({"count": 4, "known": 2}, PlanAnswer.from_json, lambda v: v.to_json(), 2),
    "scheduler claim answer": (
        {"index": 0, "export": {"target": TARGET, "run_key": "k", "instance_id": "i"}},
        ClaimAnswer.from_json,
        lambda v: v.to_json(),
        2,
    ),
    "scheduler close request": ({"plan_id": "p"}, CloseRequest.from_json, lambda v: v.to_json(), 2),
    "scheduler close answer": ({"outcomes": {"export-x": "failed"}}, CloseAnswer.from_json, lambda v: v.to_json(), 2),
    "scheduler custom status": ({"exports": 9, "lanes": 4}, SchedulerStatus.from_json, lambda v: v.to_json(), 2),
    "scheduler lane custom status": (
        {"claims": 2, "running": "export-x"},
        LaneStatus.from_json,
        lambda v: v.to_json(),
        2,
    ),
    "manifest and latest.json": (
        {"schema_version": 1, **MANIFEST},
        ExportManifest.model_validate,
        lambda v: v.model_dump(mode="json"),
        2,  # version 2 (multi-part results) reads version 1 unchanged
    ),
    "runner history record": (INSTANCE, StoredInstance.from_dict, lambda v: v.to_dict(), 2),
    "event data": (
        {"target": "goals", "status": "failed", "error": "x"},
        read_event_data,
        lambda v: v,
        2,
    ),
}


def keeps(written: Any, previous: Any) -> bool:
    """Every key and value of `previous` is in `written` (which may add keys, such as an error's source)."""
    if isinstance(previous, dict):
        return isinstance(written, dict) and all(k in written and keeps(written[k], v) for k, v in previous.items())
    return bool(written == previous)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_shape_of_the_previous_release_reads_and_is_written_back_with_the_current_version(shape: str) -> None:
    previous, read, write, current = SHAPES[shape]
    written = write(read(previous))
    assert written["schema_version"] == current
    assert keeps(written, {key: value for key, value in previous.items() if key != "schema_version"})
    assert write(read(written)) == written  # the current version reads too


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("version", [3, 0, 99, "2", None, True])
def test_a_shape_of_an_unknown_version_is_refused_naming_the_version_found_and_those_accepted(
    shape: str, version: object
) -> None:
    previous, read, _, current = SHAPES[shape]
    if version == current:
        return
    with pytest.raises(UnsupportedVersion) as refused:
        read({**previous, "schema_version": version})
    message = str(refused.value)
    assert f"schema version {version!r}" in message or f"schema version {version}" in message
    assert f"it reads {' and '.join(map(str, accepted(current)))}" in message


def test_readers_accept_exactly_the_current_and_the_previous_version() -> None:
    assert accepted(2) == (1, 2)
    assert accepted(3) == (2, 3)
    assert accepted(1) == (1,)
    assert check({}, "x", 2) == 1  # written before versions: version 1
    with pytest.raises(
        UnsupportedVersion, match=r"schema version 1 is not one this release reads \(it reads 2 and 3\)"
    ):
        check({}, "x", 3)


def test_a_custom_status_of_an_unknown_release_reads_as_no_progress_rather_than_a_guess() -> None:
    assert ExportProgress.read({**PROGRESS, "schema_version": 7}) is None
    assert ExportProgress.read(PROGRESS) is not None


def test_an_event_names_its_data_schema_and_its_data_carries_the_version() -> None:
    event = to_json_dict(
        build_export_event(target="goals", connector="sailpoint", instance_id="i", outcome="failed", job_id=None)
    )
    assert event["dataschema"] == EVENT_DATASCHEMA
    assert event["data"]["schema_version"] == 2


def test_the_consumer_refuses_an_event_of_an_unknown_release_by_name() -> None:
    envelope = {"id": "e", "data": {"schema_version": 5, "status": "failed", "target": "goals"}}
    with pytest.raises(UnsupportedVersion, match="export event data: schema version 5"):
        consume_envelope(envelope)
    assert consume_envelope({"id": "e", "data": {"status": "failed", "target": "goals"}}).outcome == "failed"


def test_a_shape_of_an_unknown_version_is_not_mistaken_for_a_corrupt_one() -> None:
    """pydantic wraps ValueErrors; the version refusal passes through, so a reader can tell the two apart."""
    with pytest.raises(UnsupportedVersion):
        JobAnswer.from_json({"schema_version": 3, "job": JOB})
    with pytest.raises(ValidationError):
        JobAnswer.from_json({"schema_version": 2, "job": {"job_id": "j-1"}})
