"""A timer run fanning out to hundreds of targets: wall time, and whether the concurrency cap held.

The scheduled parent orchestration is what protects an upstream from a tick
with many due targets, so this runs the production parent
(`scheduled_exports_orchestrator`) on the local runner with hundreds of
SailPoint targets against the simulator and Azurite, and counts upstream jobs
in flight the only way that means something: through the real create and
download activities (a job counts from its successful create until its
successful download, including while its export sleeps on a timer). The
simulator's per-client rate limit is raised by default, because scaled timers
would turn its Retry-After into a hot loop that no real deployment sees;
`keep_rate_limit` keeps it, and any 429 is counted and printed either way.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from activities.export_activities import ACTIVITIES
from benchmarks.environment import use_storage
from local.azurite import Azurite
from local.cli import ORCHESTRATORS
from local.runner import LocalRunner, RunnerEvent
from local.simulator import SimulatorConfig, run_simulator
from orchestrators import names
from orchestrators.instance_ids import export_instance_id
from orchestrators.scheduled_exports import scheduled_exports_orchestrator
from tests.support.targets import sailpoint_target

CONTAINER = "bench-fanout"
TIMER_SCALE = 0.001
UNLIMITED = 10**9
Activity = Callable[[dict[str, Any]], dict[str, Any]]


class InFlight:
    """A thread-safe gauge of exports in flight that remembers its highest reading."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self._lock = threading.Lock()

    def add(self, delta: int) -> None:
        with self._lock:
            self.now += delta
            self.peak = max(self.peak, self.now)


class UpstreamJobs:
    """Upstream jobs of running exports, by target: open from a successful create to a successful download.

    An export that fails before its download abandons its job (nothing cancels it upstream); it leaves the
    gauge then, and is counted apart, so a failure does not look like a job the cap let through.
    """

    def __init__(self) -> None:
        self.open: set[str] = set()
        self.peak = self.abandoned = 0
        self._lock = threading.Lock()

    def counting(self, activity: Activity, opens: bool) -> Activity:
        """`activity`, opening (create) or closing (download) its target's job each time it succeeds."""

        def counted(payload: dict[str, Any]) -> dict[str, Any]:
            result = activity(payload)
            if "error" not in result:
                with self._lock:
                    name = payload["target"]["name"]
                    (self.open.add if opens else self.open.discard)(name)
                    self.peak = max(self.peak, len(self.open))
            return result

        return counted

    def export_failed(self, target: str) -> None:
        with self._lock:
            if target in self.open:
                self.open.discard(target)
                self.abandoned += 1


def measure(targets: int, max_in_flight: int, storage: Azurite, *, keep_rate_limit: bool = False) -> dict[str, Any]:
    use_storage(storage, CONTAINER)
    config = SimulatorConfig(job_polls=2, content_size=4096)
    if not keep_rate_limit:
        config.rate_limit_requests = UNLIMITED
    jobs, children = UpstreamJobs(), InFlight()
    activities = {**ACTIVITIES, names.CREATE_JOB: jobs.counting(ACTIVITIES[names.CREATE_JOB], opens=True),
                  names.DOWNLOAD: jobs.counting(ACTIVITIES[names.DOWNLOAD], opens=False)}  # fmt: skip
    orchestrators = {**ORCHESTRATORS, names.SCHEDULED_EXPORTS_ORCHESTRATION: scheduled_exports_orchestrator}

    run_key = f"bench-{uuid.uuid4().hex[:12]}"
    target_of: dict[str, str] = {}  # export instance id -> target name

    def watch(event: RunnerEvent) -> None:
        if event.kind == "sub_orchestration_scheduled":
            children.add(+1)
        elif event.kind in ("sub_orchestration_completed", "sub_orchestration_failed"):
            children.add(-1)
        if event.kind == "sub_orchestration_failed":
            jobs.export_failed(target_of[event.detail["child_instance_id"]])

    with (
        run_simulator(config) as sim,
        LocalRunner(orchestrators, activities, timer_scale=TIMER_SCALE, on_event=watch) as runner,
    ):
        exports = []
        for n in range(targets):
            target = sailpoint_target(sim, name=f"fan-{n:04d}")
            target_of[export_instance_id(target.name, run_key)] = target.name
            exports.append({"target": target.to_input(), "run_key": run_key,
                            "instance_id": export_instance_id(target.name, run_key)})  # fmt: skip
        plan = {"exports": exports, "max_in_flight": max_in_flight}
        began = time.perf_counter()
        result = runner.run(names.SCHEDULED_EXPORTS_ORCHESTRATION, plan, f"bench-fanout-{run_key}")
        wall_s = time.perf_counter() - began
        statuses = Counter(r.status for r in sim.stats.requests)
        requests = len(sim.stats.requests)
        created = sim.stats.jobs_created["sailpoint"]
    assert result.status == "Completed", result.error
    outcomes = Counter(result.output.values())
    return {
        "targets": targets,
        "max_in_flight": max_in_flight,
        "wall_s": wall_s,
        "succeeded": outcomes["succeeded"],
        "failed": outcomes["failed"],
        "jobs_peak": jobs.peak,
        "children_peak": children.peak,
        "jobs_created": created,
        "jobs_abandoned": jobs.abandoned,
        "requests": requests,
        "throttled": statuses[429],
        "errors": sum(count for status, count in statuses.items() if status >= 400),
        "parent_replays": result.replays,
        "parent_events": len(result.histories[-1]),
        "rate_limit": "simulator default" if keep_rate_limit else "raised",
    }


def run(targets: int, max_in_flight: int, storage: Azurite, *, keep_rate_limit: bool = False) -> dict[str, Any]:
    print(f"== Timer fan-out: {targets} SailPoint targets, max_in_flight {max_in_flight}, timer_scale {TIMER_SCALE} ==")
    r = measure(targets, max_in_flight, storage, keep_rate_limit=keep_rate_limit)
    print(
        f"wall {r['wall_s']:.1f} s ({r['targets'] / r['wall_s']:.1f} exports/s); "
        f"succeeded {r['succeeded']}/{r['targets']} (failed {r['failed']}); upstream jobs created {r['jobs_created']}, "
        f"abandoned by failed exports {r['jobs_abandoned']}\n"
        f"most upstream jobs at once {r['jobs_peak']} (cap {r['max_in_flight']}: "
        f"{'held' if r['jobs_peak'] <= r['max_in_flight'] else 'EXCEEDED'}); most exports in flight "
        f"{r['children_peak']}\n"
        f"upstream requests {r['requests']}, 429s {r['throttled']}, all 4xx/5xx {r['errors']} "
        f"(rate limit {r['rate_limit']}); parent orchestration: {r['parent_replays']} replays, "
        f"{r['parent_events']} history events",
        flush=True,
    )
    return r
