"""The capped parent on the local runner: many targets, at most K upstream jobs at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from activities.export_activities import ACTIVITIES
from local.cli import ORCHESTRATORS
from local.runner import LocalRunner, RunnerEvent
from local.simulator import Simulator
from orchestrators import names
from orchestrators.instance_ids import export_instance_id
from orchestrators.scheduled_exports import scheduled_exports_orchestrator
from tests.support.targets import sailpoint_target

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]


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


def test_at_most_k_upstream_jobs_run_at_once(simulator: Simulator) -> None:
    simulator.config.job_polls = 3
    counter = UpstreamJobsInFlight()
    activities = {**ACTIVITIES, names.CREATE_JOB: counter.wrap(names.CREATE_JOB, +1),
                  names.DOWNLOAD: counter.wrap(names.DOWNLOAD, -1)}  # fmt: skip
    children: list[int] = [0, 0]

    def watch(event: RunnerEvent) -> None:
        if event.kind == "sub_orchestration_scheduled":
            children[0] += 1
            children[1] = max(children[1], children[0])
        elif event.kind in ("sub_orchestration_completed", "sub_orchestration_failed"):
            children[0] -= 1

    orchestrators = {**ORCHESTRATORS, names.SCHEDULED_EXPORTS_ORCHESTRATION: scheduled_exports_orchestrator}
    runner = LocalRunner(orchestrators, activities, timer_scale=0.001, on_event=watch)
    exports = []
    for n in range(10):
        target = sailpoint_target(simulator, name=f"sp-{n}")
        exports.append(
            {"target": target.to_input(), "run_key": "slot", "instance_id": export_instance_id(target.name, "slot")}
        )
    result = runner.run(
        names.SCHEDULED_EXPORTS_ORCHESTRATION, {"exports": exports, "max_in_flight": 3}, "export-scheduler"
    )
    assert result.status == "Completed", result.error
    assert set(result.output.values()) == {"succeeded"}
    assert len(result.output) == 10
    assert simulator.stats.jobs_created["sailpoint"] == 10
    assert counter.peak == 3
    assert children[1] == 3  # the cap is reached and never passed
