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

The scheduler's fixture stands for the release before the scheduler was versioned (round-robin lanes under the
names `scheduled_exports_orchestrator` and `scheduled_exports_lane`, kept today by
`orchestrators.scheduled_exports_v1`). It was recorded the same way, from the same commit bd26a51, in a temporary
worktree of that commit with this file copied into it::

    git worktree add --detach <dir> bd26a51      # then, in <dir>, with this file at this path:
    .venv/bin/python -m tests.orchestrators.histories.record scheduler
    git worktree remove <dir>

- `scheduler_lane_between_exports.json`: a tick of three exports at K = 2 under the fixed parent id
  `export-scheduler` (`_record_scheduler` says how it is cut short): every instance the runner saved (the parent,
  both lanes, the three exports), the parent and lane 0 still running, lane 0 between its first export (done)
  and its second (started, its create scheduled with no result).

Run without an argument (or with `exports`), it records the two export fixtures as before.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from activities.export_activities import ACTIVITIES
from app_functions import ORCHESTRATORS
from local import azurite
from local.runner import LocalRunner, MemoryHistoryStore
from local.simulator import GRAPH_FIXTURE_TOKEN, Simulator, SimulatorConfig, run_simulator
from orchestrators import names
from orchestrators.export_state import ExportInput
from orchestrators.instance_ids import export_instance_id
from sinks.storage_clients import StorageSettings
from targets import Target, parse_targets
from tests.support.targets import viva_raw, viva_target

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


# The scheduler's registered name in the release the scheduler fixture stands for (`orchestrators.names` calls it
# SCHEDULED_EXPORTS_ORCHESTRATION_V1 today; that release had no such constant).
OLD_SCHEDULER = "scheduled_exports_orchestrator"
SCHEDULER_FIXTURE = "scheduler_lane_between_exports.json"
SCHEDULER_ID = "export-scheduler"
# The simulator's second organization and its view (it allows one live job per view, so lane 1 uses this one).
SECOND_ORG = ("94a356ab-53d5-40e7-8a85-053d6d3b9eb3", "e5e7a3c1-8cdf-409d-9ce9-ff730d65d95e")
WAIT_SECONDS = 120.0


def _scheduled_target(sim: Simulator, name: str, org_view: tuple[str, str] | None = None) -> Target:
    raw = {**viva_raw(sim.graph_base_url, name), "poll": {"floor_s": 1, "ceiling_s": 30}}
    if org_view is not None:
        raw["params"] = {"goals_organization_id": org_view[0], "explorer_view_id": org_view[1]}
    return next(iter(parse_targets({"targets": [raw]}).values()))


def _until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{SCHEDULER_FIXTURE}: {what} did not happen in {WAIT_SECONDS:.0f} s")
        time.sleep(0.05)


def _record_scheduler(run_key: str) -> None:
    """A tick of three exports at K = 2, the process dying when lane 0 starts its second export.

    The old scheduler deals round-robin over the tick's exports sorted by name, so lane 0 runs `a-goals` then
    `c-goals` and lane 1 runs `b-goals` (another organization: the simulator allows one live job per view). The
    create of `c-goals` first waits until lane 1 has ended and the parent has recorded that, then the process dies:
    the parent waits on lane 0, lane 0 has one export done and the second scheduled, that export has its create
    scheduled with no result.
    """
    with run_simulator(SimulatorConfig(job_polls=3)) as sim:
        targets = [
            _scheduled_target(sim, "a-goals"),
            _scheduled_target(sim, "b-goals", SECOND_ORG),
            _scheduled_target(sim, "c-goals"),
        ]
        exports: list[dict[str, Any]] = [
            {"target": t.to_input(), "run_key": run_key, "instance_id": export_instance_id(t.name, run_key)}
            for t in targets
        ]
        store = MemoryHistoryStore()
        lane_ids: list[str] = []

        def lane_one_reported() -> bool:
            lanes = [i for i in store.instance_ids() if "-lane-1-" in i]
            parent = store.load(SCHEDULER_ID)
            lane = store.load(lanes[0]) if lanes else None
            if lane is None or parent is None or lane.status != "Completed":
                return False
            lane_ids[:] = [i for i in store.instance_ids() if "-lane-" in i]
            return any(e["EventType"] == 8 for e in parent.history)  # SubOrchestrationInstanceCompleted

        def create(payload: Any) -> Any:
            if payload["target"]["name"] == "c-goals":
                _until(lane_one_reported, "lane 1 ending before lane 0's second export")
                raise ProcessDied(names.CREATE_JOB)
            return ACTIVITIES[names.CREATE_JOB](payload)

        runner = LocalRunner(ORCHESTRATORS, {**ACTIVITIES, names.CREATE_JOB: create}, timer_scale=0.001, store=store)
        stopped = threading.Event()

        def drive() -> None:
            try:
                runner.run(OLD_SCHEDULER, {"exports": exports, "max_in_flight": 2}, SCHEDULER_ID)
            except ProcessDied:
                stopped.set()

        thread = threading.Thread(target=drive, daemon=True)
        thread.start()
        thread.join(WAIT_SECONDS)
        runner.close()
        if not stopped.is_set():
            raise RuntimeError(f"{SCHEDULER_FIXTURE}: the run did not stop at lane 0's second export")
        saved = {i: store.load(i) for i in store.instance_ids()}
        statuses = {i: s.status for i, s in saved.items() if s is not None}
        running = sorted(i for i, status in statuses.items() if status == "Running")
        expected = sorted([SCHEDULER_ID, exports[2]["instance_id"], *(i for i in lane_ids if "-lane-0-" in i)])
        if running != expected:
            raise RuntimeError(f"{SCHEDULER_FIXTURE}: unexpected instances in flight: {statuses}")
        instances = {i: s.to_dict() for i, s in saved.items() if s is not None}
        document = {"scheduler": SCHEDULER_ID, "exports": [e["instance_id"] for e in exports], "instances": instances}
        text = json.dumps(document, indent=1, sort_keys=True)
        (HERE / SCHEDULER_FIXTURE).write_text(text.replace(sim.base_url, PLACEHOLDER) + "\n")


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "exports"
    if which not in ("exports", "scheduler"):
        raise SystemExit("usage: python -m tests.orchestrators.histories.record [exports|scheduler]")
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
        if which == "scheduler":
            _record_scheduler(f"recorded-{uuid.uuid4().hex[:8]}")
            return
        _record("mid_poll.json", names.CHECK_JOB, 2, f"recorded-{uuid.uuid4().hex[:8]}")
        _record("downloaded_not_published.json", names.PUBLISH_EVENT, 1, f"recorded-{uuid.uuid4().hex[:8]}")


if __name__ == "__main__":
    main()
