"""Record the saved history of an export cut short, as the release of the day writes it, for the upgrade tests.

Run from the repository root (it starts Azurite and the simulator itself)::

    .venv/bin/python -m tests.orchestrators.histories.record

It drives the production orchestrator and activities on the local runner against the simulator over HTTP and
Azurite, and stops the process (a `BaseException`, as a kill would) at a chosen activity, so the saved
`StoredInstance` is exactly what that release leaves behind for a run in flight. Two are written:

- `mid_poll.json`: the job was created and polled once (still running); the process died during the second
  status call, so that call is scheduled in the history with no result.
- `downloaded_not_published.json`: the download activity stored the blob and answered; the process died during
  the event's publication.

The simulator's address is replaced by `{SIMULATOR}` and the run's instance id kept as recorded, so a test can
load the JSON into a `MemoryHistoryStore` and resume it against a simulator of its own. The fixtures were recorded
from commit bd26a51, before any contract carried a version; keep them as they are: they stand for the previous
release.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from activities.export_activities import ACTIVITIES
from app_functions import ORCHESTRATORS
from local import azurite
from local.runner import LocalRunner, MemoryHistoryStore
from local.simulator import GRAPH_FIXTURE_TOKEN, SimulatorConfig, run_simulator
from orchestrators import names
from orchestrators.export_state import ExportInput
from orchestrators.instance_ids import export_instance_id
from sinks.storage_clients import StorageSettings
from tests.support.targets import viva_target

HERE = Path(__file__).parent
PLACEHOLDER = "{SIMULATOR}"


class ProcessDied(BaseException):
    """The process ends inside an activity: nothing of that activity is recorded."""


def _dying_on(name: str, call: int) -> dict[str, Callable[[Any], Any]]:
    seen = {"n": 0}

    def dies(payload: Any) -> Any:
        seen["n"] += 1
        if seen["n"] >= call:
            raise ProcessDied(name)
        return ACTIVITIES[name](payload)

    return {**ACTIVITIES, name: dies}


def _record(fixture: str, activity: str, call: int, run_key: str) -> None:
    with run_simulator(SimulatorConfig(job_polls=3)) as sim:
        target = viva_target(sim)
        instance_id = export_instance_id(target.name, run_key)
        store = MemoryHistoryStore()
        runner = LocalRunner(ORCHESTRATORS, _dying_on(activity, call), timer_scale=0.001, store=store)
        try:
            runner.run(names.EXPORT_ORCHESTRATION, ExportInput(target=target, run_key=run_key).to_dict(), instance_id)
        except ProcessDied:
            pass
        else:
            raise RuntimeError(f"{fixture}: the run did not reach {activity} call {call}")
        finally:
            runner.close()
        saved = store.load(instance_id)
        if saved is None or saved.status != "Running":
            raise RuntimeError(f"{fixture}: nothing in flight was saved")
        text = json.dumps({"instance_id": instance_id, "stored": saved.to_dict()}, indent=1, sort_keys=True)
        (HERE / fixture).write_text(text.replace(sim.base_url, PLACEHOLDER) + "\n")


def main() -> None:
    with tempfile.TemporaryDirectory() as data, azurite.running(Path(data)) as running:
        os.environ.update(
            EXPORTS_STORAGE_CONNECTION_STRING=running.connection_string,
            EXPORTS_CONTAINER="recorded",
            EXPORTS_EVENTS_QUEUE="recorded",
            EXPORTS_EVENTS_SINK="queue",
            EXPORTS_ALLOW_LOOPBACK_UPSTREAMS="true",
            TEST_GRAPH_TOKEN=GRAPH_FIXTURE_TOKEN,
            NO_PROXY="127.0.0.1,localhost",
        )
        azurite.provision(StorageSettings.from_env())
        _record("mid_poll.json", names.CHECK_JOB, 2, f"recorded-{uuid.uuid4().hex[:8]}")
        _record("downloaded_not_published.json", names.PUBLISH_EVENT, 1, f"recorded-{uuid.uuid4().hex[:8]}")


if __name__ == "__main__":
    main()
