"""The export orchestration end to end: production orchestrator and activities on the local runner,
against the upstream simulator over HTTP and Azurite, nothing mocked.

Only fault-free behaviour lives here; every end-to-end fault scenario is a row of tests/faults/test_fault_matrix.py.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from activities.export_activities import ACTIVITIES
from app_functions import ORCHESTRATORS
from local.cli import run_export
from local.runner import LocalRunner, OrchestrationResult
from local.simulator import GRAPH_FIXTURE_TOKEN, SAILPOINT_FIXTURE_SECRET, Simulator
from orchestrators import poll_policy
from targets import Target
from tests.support import storage
from tests.support.content import expected_sha256
from tests.support.exports import run_with_poll
from tests.support.targets import sailpoint_target, viva_target

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]


def run(target: Target, runner: LocalRunner | None = None) -> OrchestrationResult:
    return run_export(target, run_key=uuid.uuid4().hex, timer_scale=0.001, runner=runner)


def default_runner() -> LocalRunner:
    return LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001)


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


def test_the_servers_retry_after_is_the_wait_between_polls(simulator: Simulator) -> None:
    simulator.config.job_polls = 4
    simulator.config.retry_after_s = 7  # inside the target's floor (1 s) and ceiling (30 s), and no backoff step
    events: list[Any] = []
    runner = LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001, on_event=events.append)
    result = run(viva_target(simulator), runner=runner)
    assert result.status == "Completed", result.error
    waits = [round(e.detail["seconds"]) for e in events if e.kind == "timer_created" and not e.detail["retry"]]
    assert waits[1:] == [7, 7, 7], waits  # the first wait follows the create; each later one a status poll's answer
    assert simulator.stats.polls(result.output["job_id"]) == 4


def test_backoff_without_retry_after_stays_between_floor_and_ceiling(simulator: Simulator) -> None:
    simulator.config.job_polls = 4  # SailPoint sends no Retry-After
    events: list[Any] = []
    runner = LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001, on_event=events.append)
    result = run(sailpoint_target(simulator, floor_s=2, ceiling_s=5), runner=runner)
    assert result.status == "Completed", result.error
    waits = [e.detail["seconds"] for e in events if e.kind == "timer_created"]
    assert all(2 <= wait <= 5 for wait in waits)
    assert [round(wait) for wait in waits[:4]] == [2, 2, 2, 2]  # a quarter of a young job's age is under the floor


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


@pytest.mark.parametrize(
    "poll",
    [{"floor_s": 60, "ceiling_s": 1}, {"deadline_s": 1e12}, {"deadline_s": float("inf")}, {"deadline_s": float("nan")}],
)
def test_poll_settings_that_cannot_be_used_fail_the_run_with_an_event(
    simulator: Simulator, poll: dict[str, Any]
) -> None:
    """Past the targets-file checks, the orchestrator's own reading of the settings refuses them: no overflow."""
    result = run_with_poll(viva_target(simulator), default_runner(), **poll)
    assert result.status == "Failed"
    assert "invalid poll settings" in (result.error or ""), result.error
    assert simulator.stats.requests == []
    assert "invalid poll settings" in assert_exactly_one_event("failed")["data"]["error"]
