"""A scheduler run in flight across the deploy that versioned the scheduler: the previous release's parent and lanes
finish on this code, under their old names (`orchestrators.scheduled_exports_v1`).

`histories/scheduler_lane_between_exports.json` is what that release saved for a tick of three exports at K = 2
cut short as lane 0 started its second export (see `histories/record.py` for how, and from which commit): the
parent waits on lane 0, lane 1 has ended, lane 0 has one export done and the second with its create scheduled
and no answer. Every saved instance is loaded into a store as the runner would find it, pointed at this test's
simulator, and resumed with today's orchestrators and activities.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app_functions import ACTIVITIES, ORCHESTRATORS
from local.runner import LocalRunner, MemoryHistoryStore, StoredInstance
from local.simulator import Simulator
from orchestrators import names
from orchestrators.instance_ids import export_instance_id
from orchestrators.scheduled_exports_v1 import export_input
from tests.orchestrators.histories.record import PLACEHOLDER, SCHEDULER_FIXTURE
from tests.support import storage
from tests.support.targets import viva_target

HISTORIES = Path(__file__).parent / "histories"


def load_scheduler(sim: Simulator) -> tuple[MemoryHistoryStore, dict[str, Any]]:
    """Every instance of the recorded tick, saved into a fresh store with the simulator's address put back."""
    recorded = json.loads((HISTORIES / SCHEDULER_FIXTURE).read_text().replace(PLACEHOLDER, sim.base_url))
    store = MemoryHistoryStore()
    for instance_id, stored in recorded["instances"].items():
        store.save(instance_id, StoredInstance.from_dict(stored))
    return store, recorded


def running_lane(recorded: dict[str, Any]) -> str:
    instances: dict[str, dict[str, Any]] = recorded["instances"]
    (lane,) = (
        i for i, s in instances.items() if s["name"] == names.SCHEDULED_EXPORTS_LANE_V1 and s["status"] == "Running"
    )
    return lane


def test_the_recorded_tick_is_the_previous_release_mid_lane() -> None:
    """What the resume tests rely on: old names, the parent and one lane waiting, the lane's second export begun."""
    recorded = json.loads((HISTORIES / SCHEDULER_FIXTURE).read_text())
    instances = recorded["instances"]
    first, second, third = recorded["exports"]
    assert (
        instances[recorded["scheduler"]]["name"]
        == names.SCHEDULED_EXPORTS_ORCHESTRATION_V1
        != (names.SCHEDULED_EXPORTS_ORCHESTRATION)
    )
    assert {i: s["status"] for i, s in instances.items() if s["name"] == "export_orchestrator"} == {
        first: "Completed",
        second: "Completed",
        third: "Running",
    }
    lane = instances[running_lane(recorded)]
    assert lane["custom_status"] == {"done": 1, "of": 2, "running": third}
    assert all("schema_version" not in s for s in instances.values())  # saved before records carried a version


@pytest.mark.integration
@pytest.mark.usefixtures("export_env")
def test_a_previous_release_scheduler_stopped_between_a_lanes_exports_resumes_and_runs_the_rest(
    simulator: Simulator,
) -> None:
    store, recorded = load_scheduler(simulator)
    first, second, third = recorded["exports"]
    with LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001, store=store) as runner:
        result = runner.resume(recorded["scheduler"])
    assert result.status == "Completed", result.error
    assert result.output == {first: "succeeded", second: "succeeded", third: "succeeded"}
    lane = store.load(running_lane(recorded))
    assert lane is not None
    assert lane.status == "Completed"
    assert lane.output == {first: "succeeded", third: "succeeded"}
    assert simulator.stats.jobs_created["graph"] == 1  # the remaining export's job; the done ones were not redone
    export = store.load(third)
    assert export is not None
    assert export.status == "Completed", export.error
    blob = export.output["blob"]
    assert storage.blob_sha256(blob["name"]) == blob["sha256"]
    assert [(e["type"], e["data"]["target"]) for e in storage.events()] == [
        ("com.exportpipeline.export.succeeded", "c-goals")
    ]


@pytest.mark.integration
@pytest.mark.usefixtures("export_env")
def test_a_previous_release_lane_resumed_on_its_own_runs_its_remaining_export(simulator: Simulator) -> None:
    """As the host delivers it: the lane's export ends, the lane replays on this code and completes."""
    store, recorded = load_scheduler(simulator)
    first, _, third = recorded["exports"]
    with LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001, store=store) as runner:
        result = runner.resume(running_lane(recorded))
    assert result.status == "Completed", result.error
    assert result.output == {first: "succeeded", third: "succeeded"}
    assert simulator.stats.jobs_created["graph"] == 1


@pytest.mark.integration
@pytest.mark.usefixtures("export_env")
def test_the_previous_release_scheduler_starts_exports_with_todays_input(simulator: Simulator) -> None:
    """An old lane's export not yet begun at deploy time starts on this code with the versioned `ExportInput`."""
    targets = [viva_target(simulator, name="goals")]
    exports: list[dict[str, Any]] = [
        {"target": t.to_input(), "run_key": "slot", "instance_id": export_instance_id(t.name, "slot")} for t in targets
    ]
    plan = {"exports": exports, "max_in_flight": 1}
    store = MemoryHistoryStore()
    with LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001, store=store) as runner:
        result = runner.run(names.SCHEDULED_EXPORTS_ORCHESTRATION_V1, plan, "export-scheduler")
    assert result.status == "Completed", result.error
    export_id = exports[0]["instance_id"]
    assert result.output == {export_id: "succeeded"}
    export = store.load(export_id)
    assert export is not None
    assert export.input is not None
    assert "schema_version" in json.loads(export.input)


def test_an_old_plan_target_today_refuses_is_handed_on_as_written() -> None:
    """The export then fails on its own and the lane goes on, instead of the lane failing mid-plan."""
    item = {"target": {"name": "gone", "connector": "no-such-connector"}, "run_key": "k", "instance_id": "export-x"}
    assert export_input(item) == {"target": item["target"], "run_key": "k", "state": None}
