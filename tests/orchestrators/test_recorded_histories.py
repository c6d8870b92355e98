"""Runs in flight across a deploy: histories saved by the previous release resume and complete on this code.

The fixtures in `histories/` are what the release before versioned contracts saved for a run cut short (see
`histories/record.py` for how, and from which commit). Each is loaded into a store as the runner would find it,
pointed at this test's simulator, and resumed with today's orchestrator and activities.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from activities.export_activities import ACTIVITIES
from app_functions import ORCHESTRATORS
from local.runner import LocalRunner, MemoryHistoryStore, StoredInstance
from local.simulator import Simulator
from local.simulator.state import Job
from tests.orchestrators.histories.record import PLACEHOLDER
from tests.support import storage
from tests.support.targets import ORG, VIEW

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]
HISTORIES = Path(__file__).parent / "histories"


def load_recorded(fixture: str, sim: Simulator) -> tuple[MemoryHistoryStore, str, dict[str, Any]]:
    """The recorded instance, saved into a fresh store with the simulator's address put back."""
    recorded = json.loads((HISTORIES / fixture).read_text().replace(PLACEHOLDER, sim.base_url))
    store = MemoryHistoryStore()
    store.save(recorded["instance_id"], StoredInstance.from_dict(recorded["stored"]))
    return store, recorded["instance_id"], recorded["stored"]


def recorded_job_id(stored: dict[str, Any]) -> str:
    answers = [json.loads(e["Result"]) for e in stored["history"] if e["EventType"] == 5]
    job_id: str = answers[0]["job"]["job_id"]
    return job_id


def test_an_export_stopped_mid_poll_by_the_previous_release_resumes_and_completes(simulator: Simulator) -> None:
    store, instance_id, stored = load_recorded("mid_poll.json", simulator)
    job_id = recorded_job_id(stored)
    simulator.state.add_job(
        Job("graph", job_id, datetime.now(UTC), False, False, {"org": ORG, "view": VIEW})
    )  # still running upstream
    result = LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001, store=store).resume(instance_id)
    assert result.status == "Completed", result.error
    assert result.output["job_id"] == job_id
    assert simulator.stats.jobs_created["graph"] == 1  # only the one added above: no second job was created
    assert storage.blob_sha256(result.output["blob"]["name"]) == result.output["blob"]["sha256"]
    assert [e["type"] for e in storage.events()] == ["com.exportpipeline.export.succeeded"]


def test_an_export_downloaded_but_not_announced_by_the_previous_release_publishes_once(simulator: Simulator) -> None:
    store, instance_id, stored = load_recorded("downloaded_not_published.json", simulator)
    result = LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.001, store=store).resume(instance_id)
    assert result.status == "Completed", result.error
    assert result.output["job_id"] == recorded_job_id(stored)
    assert simulator.stats.requests == []  # nothing upstream: the recorded answers were replayed
    (event,) = storage.events()
    assert event["type"] == "com.exportpipeline.export.succeeded"
    assert event["data"]["blob"] == result.output["blob"]
