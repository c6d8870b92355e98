"""Stand-in exports of known lengths for the scheduler, and the gauge that watches them in orchestration time.

The scheduler (parent, lanes, claims) is the production code; only the export below it is a stand-in: it
sleeps a durable timer as long as its target says, so a tick of exports lasting 5 to 120 minutes runs on the
local runner in scaled time, and makespans are read on the runner's clock (orchestration time), not the wall.
The tests and the fan-out benchmark share it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.storage.blob import ContainerClient

from local.runner import RunnerEvent
from orchestrators.instance_ids import export_instance_id
from sinks.blob_ref import BlobRef
from sinks.manifest import ExportManifest, update_latest

RUN_KEY = "2026-03-01T02:00:00Z"
TOY_URL = "https://toy.example.com/seconds/"  # a toy target's base URL ends in its export's length


def duration_of(target: Mapping[str, Any]) -> float:
    """How long a toy target's export lasts, in seconds (its base URL says; the plan's targets are validated)."""
    return float(str(target["base_url"]).removeprefix(TOY_URL))


def toy_export(context: Any) -> Generator[Any, Any, str]:
    """Sleeps its target's duration (`duration_of`) on a durable timer; targets named fail-* end Failed."""
    target = context.get_input()["target"]
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=duration_of(target)))
    if str(target["name"]).startswith("fail-"):
        raise RuntimeError("upstream refused the export")
    return "done"


def toy_plan(durations: list[float], failing: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    """The timer tick's plan for one export per duration, in the tick's order (by target name)."""
    exports = []
    for n, duration in enumerate(durations):
        name = f"{'fail' if n in failing else 'ok'}-{n:04d}"
        target = {  # a valid target: the scheduler's plan is typed
            "name": name,
            "connector": "sailpoint",
            "base_url": f"{TOY_URL}{duration}",
            "auth": {"kind": "bearer_env", "env": "T"},
        }
        exports.append({"target": target, "run_key": RUN_KEY, "instance_id": export_instance_id(name, RUN_KEY)})
    return exports


def record_last_run(container: ContainerClient, target: str, duration_s: float) -> None:
    """A `latest.json` as a finished export of `target` leaves it: its job created `duration_s` before commit."""
    done = datetime(2026, 2, 28, tzinfo=UTC)
    name = f"{target}/x/content.json"
    blob = BlobRef(
        container=container.container_name, name=name, url="", size=1, sha256="0", content_type="application/json"
    )
    manifest = ExportManifest(
        target=target,
        connector="sailpoint",
        job_id="previous",
        instance_id=f"export-{target}-previous",
        blob=blob,
        created_at=(done - timedelta(seconds=duration_s)).isoformat().replace("+00:00", "Z"),
        completed_at=done.isoformat().replace("+00:00", "Z"),
        upstream_expires_at=None,
    )
    update_latest(container, manifest)


class InFlight:
    """Exports in flight over orchestration time, from the runner's events for the given export instance ids."""

    def __init__(self, export_ids: set[str]) -> None:
        self.export_ids = export_ids
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # set to the runner's clock
        self.started: dict[str, datetime] = {}
        self.ended: dict[str, datetime] = {}
        self.level = self.peak = 0
        self.lock = threading.Lock()

    def watch(self, event: RunnerEvent) -> None:
        child = event.detail.get("child_instance_id")
        if child not in self.export_ids:
            return
        with self.lock:
            if event.kind == "sub_orchestration_scheduled":
                self.started[child] = self.clock()
                self.level += 1
                self.peak = max(self.peak, self.level)
            elif event.kind in ("sub_orchestration_completed", "sub_orchestration_failed"):
                self.ended[child] = self.clock()
                self.level -= 1

    def figures(self, limit: int) -> dict[str, float]:
        """Makespan against the ideal K-wide window, max(total export time / K, longest export), in seconds."""
        spans = [(self.ended[i] - self.started[i]).total_seconds() for i in self.started if i in self.ended]
        makespan = (max(self.ended.values()) - min(self.started.values())).total_seconds()
        work = sum(spans)
        ideal = max(work / limit, max(spans))
        return {
            "makespan_s": makespan,
            "ideal_s": ideal,
            "ratio": makespan / ideal,
            "avg_in_flight": work / makespan,
            "spans": len(spans),
        }
