"""The capped parent on the local runner: many targets, at most K exports at once, and K while work remains."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import pytest

from activities.export_activities import ACTIVITIES
from app_functions import ORCHESTRATORS
from local.runner import LocalRunner, RunnerEvent
from local.simulator import Simulator
from orchestrators import names
from orchestrators.instance_ids import export_instance_id
from orchestrators.scheduled_exports import ORCHESTRATORS as SCHEDULER
from orchestrators.scheduled_exports import deal_lanes, scheduled_exports_lane
from tests.support.targets import sailpoint_target

EXPORT_SECONDS = 40  # a toy export's virtual duration


class UpstreamJobsInFlight:
    """Counts jobs created upstream and not yet downloaded, through the real activities."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def wrap(self, name: str, delta: int) -> Any:
        def activity(payload: dict[str, Any]) -> dict[str, Any]:
            result = ACTIVITIES[name](payload)
            if "error" not in result:
                with self.lock:
                    self.now += delta
                    self.peak = max(self.peak, self.now)
            return result

        return activity


class ExportsInFlight:
    """Exports in flight over real time, from the runner's events for the given export instance ids."""

    def __init__(self, export_ids: set[str]) -> None:
        self.export_ids = export_ids
        self.samples: list[tuple[float, int]] = []  # (monotonic time, in flight after the event)
        self.scheduled = 0
        self.last_scheduled_at = 0.0
        self.lock = threading.Lock()

    def watch(self, event: RunnerEvent) -> None:
        if event.detail.get("child_instance_id") not in self.export_ids:
            return
        delta = {
            "sub_orchestration_scheduled": 1,
            "sub_orchestration_completed": -1,
            "sub_orchestration_failed": -1,
        }.get(event.kind, 0)
        with self.lock:
            now = time.monotonic()
            in_flight = (self.samples[-1][1] if self.samples else 0) + delta
            self.samples.append((now, in_flight))
            if delta > 0:
                self.scheduled += 1
                self.last_scheduled_at = now

    @property
    def peak(self) -> int:
        return max(count for _, count in self.samples)

    def average_while_work_waits(self) -> float:
        """Time-weighted mean in flight from the first start to the start of the last export."""
        area = 0.0
        for (at, count), (following, _) in zip(self.samples, self.samples[1:], strict=False):
            if at >= self.last_scheduled_at:
                break
            area += count * (min(following, self.last_scheduled_at) - at)
        return area / (self.last_scheduled_at - self.samples[0][0])


def toy_export(context: Any) -> Generator[Any, Any, str]:
    """Stands in for an export: sleeps a durable timer; targets named fail-* end Failed."""
    request = context.get_input()
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=EXPORT_SECONDS))
    if request["target"]["name"].startswith("fail-"):
        raise RuntimeError("upstream refused the export")
    return "done"


TOY_TARGET = {
    "connector": "sailpoint",
    "base_url": "https://acme.api.identitynow.com/v2025",
    "auth": {"kind": "bearer_env", "env": "T"},
}


def toy_plan(count: int, failing: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    exports = []
    for n in range(count):
        name = f"{'fail' if n in failing else 'ok'}-{n:03d}"
        target = {**TOY_TARGET, "name": name}  # a valid target: the plan is typed
        exports.append({"target": target, "run_key": "slot", "instance_id": export_instance_id(name, "slot")})
    return exports


def run_toy(exports: list[dict[str, Any]], limit: int, gauge: ExportsInFlight) -> Any:
    orchestrators = {**SCHEDULER, names.EXPORT_ORCHESTRATION: toy_export}
    with LocalRunner(orchestrators, {}, timer_scale=0.01, on_event=gauge.watch) as runner:
        return runner.run(
            names.SCHEDULED_EXPORTS_ORCHESTRATION, {"exports": exports, "max_in_flight": limit}, "export-scheduler"
        )


def test_lanes_are_dealt_round_robin_and_never_empty() -> None:
    exports = [{"instance_id": str(n)} for n in range(10)]
    lanes = deal_lanes(exports, 4)
    assert [[e["instance_id"] for e in lane] for lane in lanes] == [
        ["0", "4", "8"],
        ["1", "5", "9"],
        ["2", "6"],
        ["3", "7"],
    ]
    assert len(deal_lanes(exports[:2], 4)) == 2
    assert deal_lanes([], 4) == []


def test_k_exports_stay_in_flight_while_work_remains() -> None:
    exports = toy_plan(24)
    gauge = ExportsInFlight({e["instance_id"] for e in exports})
    result = run_toy(exports, 4, gauge)
    assert result.status == "Completed", result.error
    assert gauge.scheduled == 24
    assert gauge.peak == 4
    assert gauge.average_while_work_waits() >= 0.9 * 4


def test_a_failed_export_does_not_stop_the_others() -> None:
    exports = toy_plan(9, failing=frozenset({0, 4}))  # both in lane 0 of 4, its first and second export
    gauge = ExportsInFlight({e["instance_id"] for e in exports})
    result = run_toy(exports, 4, gauge)
    assert result.status == "Completed", result.error
    assert result.output == {
        e["instance_id"]: "failed" if e["target"]["name"].startswith("fail-") else "succeeded" for e in exports
    }
    assert gauge.scheduled == 9


def test_a_failed_lane_fails_the_parent_and_the_other_lanes_finish_their_exports() -> None:
    exports = toy_plan(12)
    lane_zero = {e["instance_id"] for e in deal_lanes(exports, 4)[0]}
    others = [e["instance_id"] for e in exports if e["instance_id"] not in lane_zero]

    def breaking_lane(context: Any) -> Generator[Any, Any, dict[str, str]]:
        if lane_zero & {e["instance_id"] for e in context.get_input()["exports"]}:
            raise RuntimeError("lane lost")
        return (yield from scheduled_exports_lane(context))

    gauge = ExportsInFlight({e["instance_id"] for e in exports})
    orchestrators = {**SCHEDULER, names.SCHEDULED_EXPORTS_LANE: breaking_lane, names.EXPORT_ORCHESTRATION: toy_export}
    with LocalRunner(orchestrators, {}, timer_scale=0.01, on_event=gauge.watch) as runner:
        result = runner.run(names.SCHEDULED_EXPORTS_ORCHESTRATION, {"exports": exports, "max_in_flight": 4}, "s")
        assert result.status == "Failed"
        assert "a scheduler lane did not finish" in (result.error or "")
        assert "lane lost" in (result.error or "")
        for _ in range(600):  # the other lanes outlive the parent: wait (bounded) for their exports to end
            stored = [runner.store.load(instance_id) for instance_id in others]
            if all(s is not None and s.status != "Running" for s in stored):
                break
            time.sleep(0.05)
        assert [s.status if s else None for s in stored] == ["Completed"] * len(others)
    assert gauge.scheduled == len(others)  # lane 0's exports never started


def test_no_exports_complete_at_once() -> None:
    gauge = ExportsInFlight(set())
    with LocalRunner(SCHEDULER, {}, timer_scale=0.01, on_event=gauge.watch) as runner:
        result = runner.run(names.SCHEDULED_EXPORTS_ORCHESTRATION, {"exports": [], "max_in_flight": 4}, "s")
    assert (result.status, result.output) == ("Completed", {})


@pytest.mark.integration
@pytest.mark.usefixtures("export_env")
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
    gauge = ExportsInFlight({e["instance_id"] for e in exports})
    runner = LocalRunner({**ORCHESTRATORS, **SCHEDULER}, activities, timer_scale=0.001, on_event=gauge.watch)
    with runner:
        result = runner.run(
            names.SCHEDULED_EXPORTS_ORCHESTRATION, {"exports": exports, "max_in_flight": 3}, "export-scheduler"
        )
    assert result.status == "Completed", result.error
    assert result.output == {e["instance_id"]: "succeeded" for e in exports}  # the tick's singleton ids
    assert simulator.stats.jobs_created["sailpoint"] == 10
    assert counter.peak == 3
    assert gauge.peak == 3  # the cap is reached and never passed
