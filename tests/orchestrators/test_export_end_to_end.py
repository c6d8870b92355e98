"""The export orchestration end to end: production orchestrator and activities on the local runner,
against the upstream simulator over HTTP and Azurite, nothing mocked."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from activities.export_activities import ACTIVITIES
from app_functions import ORCHESTRATORS
from local.cli import run_export
from local.runner import LocalRunner, OrchestrationResult
from local.simulator import GRAPH_FIXTURE_TOKEN, SAILPOINT_FIXTURE_SECRET, Simulator
from orchestrators import names, poll_policy
from orchestrators.export_state import ExportInput
from orchestrators.instance_ids import export_instance_id
from targets import Target
from tests.support import storage
from tests.support.content import expected_sha256
from tests.support.targets import ORG, VIEW, sailpoint_target, viva_target

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]


def run(
    target: Target, *, scale: float = 0.001, runner: LocalRunner | None = None, key: str = ""
) -> OrchestrationResult:
    return run_export(target, run_key=key or uuid.uuid4().hex, timer_scale=scale, runner=runner)


def run_with_poll(target: Target, runner: LocalRunner | None = None, **poll: Any) -> OrchestrationResult:
    """Run `target` with poll settings set straight in the orchestration input, past the targets-file checks."""
    raw = target.to_input()
    raw["poll"] = {**(raw.get("poll") or {}), **poll}
    key = uuid.uuid4().hex
    with runner or LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001) as active:
        request = ExportInput(target=raw, run_key=key).to_dict()
        return active.run(names.EXPORT_ORCHESTRATION, request, export_instance_id(target.name, key))


def graph_error(code: str, message: str, target: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "target": target, "innerError": {"code": code}}}


def assert_exactly_one_event(outcome: str) -> dict[str, Any]:
    events = storage.events()
    assert len(events) == 1, events
    event = events[0]
    assert event["type"] == f"com.exportpipeline.export.{outcome}"
    assert event["specversion"] == "1.0"
    assert event["id"]
    assert event["source"]
    assert event["time"]
    return event


def test_viva_goals_export_lands_the_exact_bytes_with_manifest_latest_and_one_event(simulator: Simulator) -> None:
    simulator.config.content_size = 3 * 1024 * 1024 + 17
    result = run(viva_target(simulator))
    assert result.status == "Completed", result.error
    out = result.output
    job_id = out["job_id"]
    assert out["blob"]["sha256"] == expected_sha256("graph", job_id, simulator.config.content_size)
    assert storage.blob_sha256(out["blob"]["name"]) == out["blob"]["sha256"]
    assert out["blob"]["content_type"] == "text/csv"
    manifest = storage.read_json(out["manifest"])
    assert manifest["job_id"] == job_id
    assert manifest["blob"]["sha256"] == out["blob"]["sha256"]
    assert manifest["upstream_expires_at"]
    assert storage.read_json("goals/latest.json") == manifest
    event = assert_exactly_one_event("succeeded")
    assert event["subject"] == out["blob"]["name"]
    assert event["data"]["blob"] == out["blob"]
    assert event["data"]["job_id"] == job_id
    assert event["data"]["target"] == "goals"


def test_sailpoint_export_keeps_the_json_byte_for_byte(simulator: Simulator) -> None:
    simulator.config.content_size = 2 * 1024 * 1024
    result = run(sailpoint_target(simulator))
    assert result.status == "Completed", result.error
    out = result.output
    assert out["blob"]["content_type"] == "application/json"
    assert out["blob"]["sha256"] == expected_sha256("sailpoint", out["job_id"], simulator.config.content_size)
    assert storage.blob_sha256(out["blob"]["name"]) == out["blob"]["sha256"]
    assert_exactly_one_event("succeeded")


def test_409_adopts_the_running_job(simulator: Simulator) -> None:
    simulator.config.job_polls = 3
    response = httpx.post(
        f"{simulator.graph_base_url}/employeeExperience/goals/exportJobs",
        json={"goalsOrganizationId": ORG, "explorerViewId": VIEW},
        headers={"Authorization": f"Bearer {GRAPH_FIXTURE_TOKEN}"},
    )
    running_job = response.json()["id"]
    result = run(viva_target(simulator))
    assert result.status == "Completed", result.error
    assert result.output["job_id"] == running_job
    assert simulator.stats.jobs_created["graph"] == 1


def test_retry_after_is_honoured_between_polls(simulator: Simulator) -> None:
    simulator.config.job_polls = None
    simulator.config.job_duration_s = 2.5
    simulator.config.retry_after_s = 1
    result = run(viva_target(simulator), scale=1.0)  # first poll after create: our floor (1 s)
    assert result.status == "Completed", result.error
    polls = simulator.stats.polls(result.output["job_id"])
    assert 2 <= polls <= 2.5 / 1 + 1


def test_backoff_without_retry_after_stays_between_floor_and_ceiling(simulator: Simulator) -> None:
    simulator.config.job_polls = 4  # SailPoint sends no Retry-After
    events: list[Any] = []
    runner = LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001, on_event=events.append)
    result = run(sailpoint_target(simulator, floor_s=2, ceiling_s=5), runner=runner)
    assert result.status == "Completed", result.error
    waits = [e.detail["seconds"] for e in events if e.kind == "timer_created"]
    assert all(2 <= wait <= 5 for wait in waits)
    assert [round(wait) for wait in waits[:4]] == [2, 2, 2, 2]  # a quarter of a young job's age is under the floor


def test_failed_job_is_recreated_then_succeeds(simulator: Simulator) -> None:
    simulator.config.fail_jobs = 1
    result = run(viva_target(simulator))
    assert result.status == "Completed", result.error
    assert result.output["recreations"] == 1
    assert simulator.stats.jobs_created["graph"] == 2
    assert_exactly_one_event("succeeded")


def test_job_failing_past_the_recreation_limit_fails_with_the_upstream_reason(simulator: Simulator) -> None:
    simulator.config.fail_jobs = 5
    result = run(sailpoint_target(simulator, max_recreations=1))
    assert result.status == "Failed"
    assert "java.lang.IllegalStateException" in (result.error or "")
    assert simulator.stats.jobs_created["sailpoint"] == 2
    event = assert_exactly_one_event("failed")
    assert "java.lang.IllegalStateException" in event["data"]["error"]


def test_result_expired_before_download_is_recreated(simulator: Simulator) -> None:
    expired: list[str] = []

    def download_after_expiry(payload: dict[str, Any]) -> dict[str, Any]:
        job_id = payload["job"]["job_id"]
        if not expired:  # the first result expires between "succeeded" and the download
            simulator.expire(job_id)
            expired.append(job_id)
        return ACTIVITIES[names.DOWNLOAD](payload)

    runner = LocalRunner(ORCHESTRATORS, {**ACTIVITIES, names.DOWNLOAD: download_after_expiry}, timer_scale=0.001)
    result = run(viva_target(simulator), runner=runner)
    assert result.status == "Completed", result.error
    assert result.output["recreations"] == 1
    assert result.output["job_id"] != expired[0]
    assert simulator.stats.jobs_created["graph"] == 2


def test_deadline_ends_the_run_as_failed_with_a_message(simulator: Simulator) -> None:
    simulator.config.never_finish = True
    simulator.config.retry_after_s = 30
    result = run(viva_target(simulator, deadline_s=300))
    assert result.status == "Failed"
    assert "deadline of 300 s passed" in (result.error or "")
    assert 300 / 30 <= simulator.stats.polls(result.custom_status["job_id"]) <= 300 / 30 + 1
    assert_exactly_one_event("failed")
    assert storage.blob_names() == []


def test_permanent_error_fails_fast_with_the_upstream_message(simulator: Simulator) -> None:
    simulator.config.organizations = {}
    result = run(viva_target(simulator))
    assert result.status == "Failed"
    assert "Goals organization not found" in (result.error or "")
    assert len(simulator.stats.requests_for("graph.create")) == 1
    assert_exactly_one_event("failed")


def test_throttling_and_server_errors_are_waited_out(simulator: Simulator) -> None:
    simulator.inject("graph.get", status=429, retry_after=7, count=2)
    simulator.inject("graph.create", status=503, count=1)
    events: list[Any] = []
    runner = LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001, on_event=events.append)
    result = run(viva_target(simulator), runner=runner)
    assert result.status == "Completed", result.error
    waits = [e.detail["seconds"] for e in events if e.kind == "timer_created"]
    assert sum(1 for w in waits if round(w) == 7) == 2  # the server's Retry-After on 429, not our backoff


def test_connection_dropped_mid_download_is_retried_and_the_blob_is_whole(simulator: Simulator) -> None:
    simulator.config.content_size = 20 * 1024 * 1024
    simulator.inject("graph.content", drop_after_bytes=9 * 1024 * 1024)
    result = run(viva_target(simulator))
    assert result.status == "Completed", result.error
    sha = expected_sha256("graph", result.output["job_id"], simulator.config.content_size)
    assert storage.blob_sha256(result.output["blob"]["name"]) == sha
    assert len(simulator.stats.requests_for("graph.content")) == 2


def test_duplicate_trigger_returns_the_same_run_without_a_second_export(simulator: Simulator) -> None:
    runner = LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001)
    target = viva_target(simulator)
    first = run(target, runner=runner, key="slot-1")
    second = run(target, runner=runner, key="slot-1")
    assert first.status == second.status == "Completed"
    assert first.instance_id == second.instance_id
    assert first.output == second.output
    assert simulator.stats.jobs_created["graph"] == 1
    assert_exactly_one_event("succeeded")


def test_long_polls_continue_as_new_and_keep_history_small(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulator.config.job_polls = 9
    monkeypatch.setattr(poll_policy, "POLLS_PER_GENERATION", 3)
    result = run(viva_target(simulator))
    assert result.status == "Completed", result.error
    assert result.generations >= 3
    assert result.output["polls"] == 9
    assert max(len(h) for h in result.histories) < 40


def test_no_token_or_secret_reaches_history_status_output_or_events(simulator: Simulator) -> None:
    results = [run(viva_target(simulator)), run(sailpoint_target(simulator))]
    recorded = json.dumps([[r.histories, r.custom_status, r.output] for r in results]) + json.dumps(storage.events())
    recorded += "".join(json.dumps(storage.read_json(n)) for n in storage.blob_names() if n.endswith(".json"))
    assert all(r.status == "Completed" for r in results)
    for secret in (GRAPH_FIXTURE_TOKEN, SAILPOINT_FIXTURE_SECRET, "sim-sp-", "Bearer"):
        assert secret not in recorded


def test_an_unpublishable_event_fails_the_run_and_says_where_the_blob_is(simulator: Simulator) -> None:
    def broken_publish(payload: dict[str, Any]) -> dict[str, Any]:
        raise ConnectionError("event queue unreachable")

    runner = LocalRunner(ORCHESTRATORS, {**ACTIVITIES, names.PUBLISH_EVENT: broken_publish}, timer_scale=0.001)
    result = run(viva_target(simulator), runner=runner)
    assert result.status == "Failed"
    assert "is stored as goals/" in (result.error or "")
    assert "event queue unreachable" in (result.error or "")


def test_409_on_a_status_poll_is_not_adopted_and_is_waited_out_within_bounds(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poll_policy, "MAX_TRANSIENT_FAILURES", 3)
    conflict = graph_error("notAllowed", "Another export job is still active", target="j!someone-elses-job")
    simulator.inject("graph.get", status=409, body=conflict, count=100)
    events: list[Any] = []
    runner = LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001, on_event=events.append)
    result = run(viva_target(simulator), runner=runner)
    assert result.status == "Failed"
    assert "gave up after 4 consecutive transient failures" in (result.error or ""), result.error
    assert len(simulator.stats.requests_for("graph.get")) == 4  # never the job the 409 named, never a hot loop
    assert len(simulator.stats.requests_for("graph.create")) == 1
    assert sum(1 for e in events if e.kind == "timer_created") == 4  # after the create, then before each retry
    assert result.custom_status["job_id"] != "j!someone-elses-job"
    assert_exactly_one_event("failed")


def test_a_step_that_follows_another_without_waiting_still_checks_the_deadline(simulator: Simulator) -> None:
    import time

    def slow_create_answering_409(payload: dict[str, Any]) -> dict[str, Any]:
        time.sleep(2.5)  # real time: the orchestration clock moves with it past the 2 s deadline
        return {"error": {"kind": "conflict", "message": "already running", "existing_job_id": "j!running"}}

    runner = LocalRunner(ORCHESTRATORS, {**ACTIVITIES, names.CREATE_JOB: slow_create_answering_409}, timer_scale=0)
    result = run_with_poll(viva_target(simulator), runner=runner, deadline_s=2)
    assert result.status == "Failed"
    assert "deadline of 2 s passed after 0 poll(s)" in (result.error or ""), result.error
    assert simulator.stats.requests_for("graph.get") == []  # the adopted job was not polled past the deadline
    assert_exactly_one_event("failed")


@pytest.mark.parametrize(
    "poll",
    [{"floor_s": 60, "ceiling_s": 1}, {"deadline_s": 1e12}, {"deadline_s": float("inf")}, {"deadline_s": float("nan")}],
)
def test_poll_settings_that_cannot_be_used_fail_the_run_with_an_event(
    simulator: Simulator, poll: dict[str, Any]
) -> None:
    """Past the targets-file checks, the orchestrator's own reading of the settings refuses them: no overflow."""
    result = run_with_poll(viva_target(simulator), **poll)
    assert result.status == "Failed"
    assert "invalid poll settings" in (result.error or ""), result.error
    assert simulator.stats.requests == []
    assert "invalid poll settings" in assert_exactly_one_event("failed")["data"]["error"]


def test_a_transient_error_does_not_stay_as_last_error_after_success(simulator: Simulator) -> None:
    simulator.inject("graph.get", status=503, count=1)
    result = run(viva_target(simulator))
    assert result.status == "Completed", result.error
    assert len(simulator.stats.requests_for("graph.get")) >= 2
    assert result.custom_status["phase"] == "succeeded"
    assert result.custom_status["last_error"] is None


def test_a_storage_failure_is_reported_as_storage_not_upstream(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORTS_CONTAINER", "Not_A_Valid_Container")  # every blob call is refused by the service
    monkeypatch.setattr(poll_policy, "MAX_TRANSIENT_FAILURES", 2)
    result = run(viva_target(simulator))
    assert result.status == "Failed"
    error = result.error or ""
    assert "gave up after 3 consecutive transient failures; last: storage error: Blob Storage:" in error, error
    assert "upstream error" not in error
    assert len(simulator.stats.requests_for("graph.content")) == 0  # storage was asked first; nothing downloaded


def test_huge_upstream_strings_keep_custom_status_small_and_still_give_a_failure_event(
    simulator: Simulator,
) -> None:
    job_id = "j!" + "J" * 254  # the longest id the connector accepts (a longer one is refused where it enters)
    reason = "\U0001d518" * 40_000  # 160 KB of UTF-8, 160 KB of UTF-16: the worst case for both limits
    failed = {"id": job_id, "status": "failed", "statusDetail": reason, "createdDateTime": "2026-01-01T00:00:00Z"}
    simulator.inject("graph.get", status=200, body=failed, count=1)
    events: list[Any] = []
    runner = LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001, on_event=events.append)
    result = run(viva_target(simulator, max_recreations=0), runner=runner)
    assert result.status == "Failed"
    statuses = [e.detail["status"] for e in events if e.kind == "custom_status"]
    largest = max(len(json.dumps(s, ensure_ascii=False).encode("utf-16-le")) for s in statuses)
    assert largest < 8 * 1024, largest  # the host refuses more than 16 KB
    event = assert_exactly_one_event("failed")
    assert reason[:100] in event["data"]["error"]
    assert len(event["data"]["error"]) <= 1000


def test_an_unreadable_latest_json_is_replaced_by_the_export(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.settings().container_client().upload_blob("goals/latest.json", b'{"points_to": "hand edited"}')
    monkeypatch.setattr(poll_policy, "MAX_TRANSIENT_FAILURES", 2)
    result = run(viva_target(simulator))
    assert result.status == "Completed", result.error
    assert storage.read_json("goals/latest.json") == storage.read_json(result.output["manifest"])
    assert len(simulator.stats.requests_for("graph.content")) == 1


def test_an_activity_crash_reads_once_as_the_activitys_failure_not_twice_prefixed(simulator: Simulator) -> None:
    """The host words a failed activity `Activity function 'X' failed:  <Type>: <msg>`; the status says it once."""
    crashes: list[str] = []

    def check_that_crashes_once(payload: Any) -> Any:
        if not crashes:
            crashes.append("crashed")
            raise ValueError("the worker lost its connection pool")
        return ACTIVITIES[names.CHECK_JOB](payload)

    events: list[Any] = []
    activities = {**ACTIVITIES, names.CHECK_JOB: check_that_crashes_once}
    runner = LocalRunner(ORCHESTRATORS, activities, timer_scale=0.001, on_event=events.append)
    result = run(viva_target(simulator), runner=runner)
    assert result.status == "Completed", result.error
    errors = [e.detail["status"]["last_error"] for e in events if e.kind == "custom_status"]
    expected = f"activity {names.CHECK_JOB} failed: ValueError: the worker lost its connection pool"
    assert any(error and error.endswith(expected) for error in errors), errors
    assert not any(error and "Activity function" in error for error in errors), errors
