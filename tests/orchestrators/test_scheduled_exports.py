"""The capped scheduler on the local runner: at most K exports at once, no slot idle while exports wait, flat lane
replays, and exact termination. The claims live in Azurite, as they would in the export storage account."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import pytest

from activities.scheduler_activities import claim_order, last_duration_s
from app_functions import ACTIVITIES, ORCHESTRATORS
from local.runner import LocalRunner, RunnerEvent
from local.simulator import Simulator
from orchestrators import names
from orchestrators.instance_ids import export_instance_id
from orchestrators.scheduled_exports import ORCHESTRATORS as SCHEDULER
from orchestrators.scheduled_exports import lane_instance_id, plan_id
from sinks import claim_book
from sinks.storage_clients import StorageSettings
from tests.support.scheduling import InFlight, duration_of, record_last_run, toy_export, toy_plan
from tests.support.targets import sailpoint_target
from tests.support.telemetry import recorded

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]
PARENT = "export-scheduler"
TOYS = {**SCHEDULER, names.EXPORT_ORCHESTRATION: toy_export}


class UpstreamJobsInFlight:
    """Counts jobs created upstream and not yet downloaded, through the real activities."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def wrap(self, name: str, delta: int) -> Any:
        def activity(payload: dict[str, Any]) -> dict[str, Any]:
            result: dict[str, Any] = ACTIVITIES[name](payload)
            if "error" not in result:
                with self.lock:
                    self.now += delta
                    self.peak = max(self.peak, self.now)
            return result

        return activity


def run_toys(exports: list[dict[str, Any]], limit: int, scale: float = 0.01) -> tuple[Any, InFlight]:
    gauge = InFlight({e["instance_id"] for e in exports})
    with LocalRunner(TOYS, ACTIVITIES, timer_scale=scale, on_event=gauge.watch) as runner:
        gauge.clock = runner.clock.now
        result = runner.run(names.SCHEDULED_EXPORTS_ORCHESTRATION, {"exports": exports, "max_in_flight": limit}, PARENT)
    return result, gauge


def uneven() -> list[float]:
    """16 exports whose round-robin deal over 4 lanes gives lane 0 every long one: 4 x 120 min against 12 x 10."""
    return [7200.0 if n % 4 == 0 else 600.0 for n in range(16)]


def test_k_exports_stay_in_flight_and_each_runs_once() -> None:
    exports = toy_plan([40.0] * 24)
    result, gauge = run_toys(exports, 4)
    assert result.status == "Completed", result.error
    assert result.output == {e["instance_id"]: "succeeded" for e in exports}
    assert len(gauge.started) == 24
    assert gauge.peak == 4
    assert gauge.figures(4)["ratio"] <= 1.1


def test_uneven_exports_on_a_first_run_leave_no_slot_idle() -> None:
    """Claimed when a lane frees, not dealt in advance: dealt round-robin, lane 0 ran 480 minutes (3.2x ideal)."""
    result, gauge = run_toys(toy_plan(uneven()), 4, scale=0.0005)
    assert result.status == "Completed", result.error
    assert gauge.peak == 4
    assert gauge.figures(4)["ratio"] <= 1.3


def test_a_later_run_claims_the_longest_exports_first() -> None:
    exports = toy_plan(uneven())
    container = StorageSettings.from_env().container_client()
    for export in exports:  # the previous run's durations, as their latest.json records them
        record_last_run(container, export["target"]["name"], duration_of(export["target"]))
    result, gauge = run_toys(exports, 4, scale=0.0005)
    assert result.status == "Completed", result.error
    assert gauge.figures(4)["ratio"] <= 1.15
    first_four = sorted(gauge.started, key=gauge.started.__getitem__)[:4]
    assert {e["instance_id"] for e in exports if duration_of(e["target"]) > 600} == set(first_four)


def test_a_failed_export_is_recorded_and_its_lane_goes_on() -> None:
    exports = toy_plan([40.0] * 9, failing=frozenset({0, 4}))
    result, gauge = run_toys(exports, 4)
    assert result.status == "Completed", result.error
    assert result.output == {
        e["instance_id"]: "failed" if e["target"]["name"].startswith("fail-") else "succeeded" for e in exports
    }
    assert len(gauge.started) == 9


def test_a_lanes_history_and_input_stay_small_however_long_the_tick() -> None:
    """One lane, 30 exports: each generation replays one claim and one export (the dealt lane replayed all 30)."""
    exports = toy_plan([10.0] * 30)
    lengths: list[int] = []
    lane = lane_instance_id(plan_id(PARENT, [e["instance_id"] for e in exports]), 0)

    def note(event: RunnerEvent) -> None:
        if event.instance_id == lane and event.kind == "replayed":
            lengths.append(int(event.detail["history_length"]))

    with LocalRunner(TOYS, ACTIVITIES, timer_scale=0.001, on_event=note) as runner:
        result = runner.run(names.SCHEDULED_EXPORTS_ORCHESTRATION, {"exports": exports, "max_in_flight": 1}, PARENT)
        stored = runner.store.load(lane)
    assert result.status == "Completed", result.error
    assert len(result.output) == 30
    assert stored is not None
    assert stored.generation == 31
    assert max(lengths) <= 16
    assert len(stored.input or "") < 200  # the plan id, lane and claim numbers and one outcome: no exports


def test_no_exports_complete_at_once() -> None:
    with LocalRunner(SCHEDULER, ACTIVITIES, timer_scale=0.01) as runner:
        result = runner.run(names.SCHEDULED_EXPORTS_ORCHESTRATION, {"exports": [], "max_in_flight": 4}, "s")
    assert (result.status, result.output) == ("Completed", {})


def wait_until(condition: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_terminated_lane_keeps_the_cap_and_its_exports_run_on_other_lanes() -> None:
    """Lane 0 is terminated while its first export runs: that export finishes, the other lanes run every export
    that was not started (dealt in advance, lane 0's later exports never ran), and never more than K run."""
    exports = toy_plan([30.0] * 12)
    gauge = InFlight({e["instance_id"] for e in exports})
    lane = lane_instance_id(plan_id(PARENT, [e["instance_id"] for e in exports]), 0)
    results: list[Any] = []
    with LocalRunner(TOYS, ACTIVITIES, timer_scale=0.02, on_event=gauge.watch) as runner:
        gauge.clock = runner.clock.now

        def drive() -> None:
            plan = {"exports": exports, "max_in_flight": 4}
            results.append(runner.run(names.SCHEDULED_EXPORTS_ORCHESTRATION, plan, PARENT))

        thread = threading.Thread(target=drive, daemon=True)
        thread.start()
        wait_until(lambda: len(gauge.started) >= 4)

        def lane_running() -> str | None:
            stored = runner.store.load(lane)
            return stored.custom_status.get("running") if stored and stored.custom_status else None

        wait_until(lambda: lane_running() is not None)  # not between two exports
        running = lane_running()
        runner.terminate(lane, "stop this lane")
        thread.join(60)
        assert results
        assert results[0].status == "Failed"
        assert "a scheduler lane did not finish" in (results[0].error or "")
        others = [e["instance_id"] for e in exports]
        wait_until(lambda: all((s := runner.store.load(i)) is not None and s.status != "Running" for i in others))
        assert [runner.store.load(i).status for i in others] == ["Completed"] * 12  # type: ignore[union-attr]
    assert running in gauge.started
    assert len(gauge.started) == 12  # every export ran, once
    assert gauge.peak <= 4


def test_cancelling_the_scheduler_starts_nothing_more_and_lets_running_exports_finish() -> None:
    """The README's promise: the scheduler terminated and its plan closed (as the next timer tick does), the lanes
    end after their current export, no export of the plan starts any more, and the running ones complete."""
    exports = toy_plan([30.0] * 12)
    gauge = InFlight({e["instance_id"] for e in exports})
    with LocalRunner(TOYS, ACTIVITIES, timer_scale=0.02, on_event=gauge.watch) as runner:
        gauge.clock = runner.clock.now
        plan = {"exports": exports, "max_in_flight": 4}
        thread = threading.Thread(
            target=runner.run, args=(names.SCHEDULED_EXPORTS_ORCHESTRATION, plan, PARENT), daemon=True
        )
        thread.start()
        wait_until(lambda: len(gauge.started) >= 4)
        runner.terminate(PARENT, "cancelled")
        claim_book.close_plan(StorageSettings.from_env().container_client())
        started = set(gauge.started)
        lanes = [lane_instance_id(plan_id(PARENT, [e["instance_id"] for e in exports]), n) for n in range(4)]
        wait_until(lambda: all((s := runner.store.load(i)) is not None and s.status != "Running" for i in lanes))
        wait_until(lambda: all((s := runner.store.load(i)) is not None and s.status != "Running" for i in started))
        assert [runner.store.load(i).status for i in lanes] == ["Completed"] * 4  # type: ignore[union-attr]
        assert [runner.store.load(i).status for i in started] == ["Completed"] * len(started)  # type: ignore[union-attr]
    assert set(gauge.started) == started  # nothing started after the cancel
    assert len(started) < 12


def test_at_most_k_upstream_jobs_run_at_once(simulator: Simulator) -> None:
    simulator.config.job_polls = 3
    counter = UpstreamJobsInFlight()
    activities = {
        **ACTIVITIES,
        names.CREATE_JOB: counter.wrap(names.CREATE_JOB, +1),
        names.DOWNLOAD: counter.wrap(names.DOWNLOAD, -1),
    }
    exports: list[dict[str, Any]] = []
    for n in range(10):
        target = sailpoint_target(simulator, name=f"sp-{n}")
        exports.append(
            {"target": target.to_input(), "run_key": "slot", "instance_id": export_instance_id(target.name, "slot")}
        )
    gauge = InFlight({e["instance_id"] for e in exports})
    with LocalRunner(ORCHESTRATORS, activities, timer_scale=0.001, on_event=gauge.watch) as runner:
        result = runner.run(names.SCHEDULED_EXPORTS_ORCHESTRATION, {"exports": exports, "max_in_flight": 3}, PARENT)
    assert result.status == "Completed", result.error
    assert result.output == {e["instance_id"]: "succeeded" for e in exports}  # the tick's singleton ids
    assert simulator.stats.jobs_created["sailpoint"] == 10
    assert counter.peak == 3
    assert gauge.peak == 3  # the cap is reached and never passed


def test_a_plan_is_claimed_unknown_durations_first_then_longest_first() -> None:
    exports = toy_plan([1.0] * 5)
    container = StorageSettings.from_env().container_client()
    for name, seconds in (("ok-0001", 60.0), ("ok-0003", 3600.0), ("ok-0004", 600.0)):
        record_last_run(container, name, seconds)
    durations = [last_duration_s(container, e["target"]["name"]) for e in exports]
    assert durations == [None, 60.0, None, 3600.0, 600.0]
    ordered = [e["target"]["name"] for e in claim_order(exports, durations)]
    assert ordered == ["ok-0000", "ok-0002", "ok-0003", "ok-0004", "ok-0001"]


def test_the_scheduler_activities_are_observed_like_the_exports_activities() -> None:
    """One span per execution of each scheduler activity, as `app_functions` wraps every activity."""
    telemetry = recorded()

    def executions() -> Counter[str]:
        return Counter(str((s.attributes or {}).get("activity")) for s in telemetry.finished_spans())

    before = executions()
    result, _ = run_toys(toy_plan([1.0] * 3), 2)
    assert result.status == "Completed", result.error
    ran = executions() - before
    # One plan, a claim per export plus each lane's last (empty) claim, one close.
    assert ran[names.PLAN_SCHEDULED_EXPORTS] == 1
    assert ran[names.CLAIM_SCHEDULED_EXPORT] == 3 + 2
    assert ran[names.CLOSE_SCHEDULED_EXPORTS] == 1


def test_a_claim_book_of_an_unknown_release_fails_the_scheduler_at_once_naming_both_versions() -> None:
    """Repeating cannot fix it: answered as a permanent failure, never retried by the scheduler's retry policy."""
    container = StorageSettings.from_env().container_client()
    book = {"schema_version": 7, "plan_id": "other", "count": 0, "next": 0, "lanes": {}, "outcomes": {}}
    container.upload_blob(claim_book.CLAIMS_BLOB, json.dumps(book).encode(), overwrite=True)
    telemetry = recorded()
    before = Counter(str((s.attributes or {}).get("activity")) for s in telemetry.finished_spans())
    try:
        result, gauge = run_toys(toy_plan([1.0] * 3), 2)
    finally:
        container.delete_blob(claim_book.CLAIMS_BLOB)
    assert result.status == "Failed"
    assert "schema version 7" in str(result.error)
    assert "reads 1 and 2" in str(result.error)
    ran = Counter(str((s.attributes or {}).get("activity")) for s in telemetry.finished_spans()) - before
    assert ran[names.PLAN_SCHEDULED_EXPORTS] == 1  # once: not retried
    assert not gauge.started  # no export started
