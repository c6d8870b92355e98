"""A timer run fanning out to hundreds of targets: whether the cap held, and whether it was used.

The scheduled parent orchestration is what protects an upstream from a tick
with many due targets, so this runs the production parent and its lanes
(`scheduled_exports`) on the local runner with hundreds of SailPoint targets
against the simulator and Azurite, and counts upstream jobs in flight the only
way that means something: through the real create and download activities (a
job counts from its successful create until its successful download, including
while its export sleeps on a timer). A cap that holds but leaves slots idle is
a slow scheduler, so it also measures each export's span (its sub-orchestration
scheduled -> completed, from the runner's events), the time-weighted average of
exports in flight, and the makespan against an ideal K-wide window:
ideal = max(total export time / K, longest export), the least time K slots
that are never idle could take for the same exports (the ceil-based window,
ceil(N / K) x mean export time, is printed beside it; it equals the other when
exports are alike and N is a multiple of K). The goal is makespan <= 1.1 x
ideal. All times are real seconds: timers are scaled to near zero, so an
export's span is its activities and replays. The simulator's per-client rate
limit is raised by default, because scaled timers would turn its Retry-After
into a hot loop that no real deployment sees; `keep_rate_limit` keeps it, and
any 429 is counted and printed either way.

`run_mixed` measures what the real exports cannot: exports of mixed lengths
(drawn between 5 and 120 minutes, seeded) at K = 8, on a first run (no target
has a last observed duration) and on a later run (each target's `latest.json`
records the duration the first run measured; this run's durations differ from
those by up to 10 %). The parent, the lanes and the claim activities (against
Azurite) are the production ones; each export is a stand-in that sleeps its
duration on a durable timer (`tests.support.scheduling`). Time is simulated:
timers are scaled by `MIXED_TIMER_SCALE` and every span is read on the
runner's orchestration clock, so two hours of export take 3.6 s of real time
and the figures are in orchestration minutes. The makespan is compared with
the ideal K-wide window computed from the same spans.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from app_functions import ACTIVITIES, ORCHESTRATORS
from benchmarks.environment import use_storage
from local.azurite import Azurite
from local.runner import LocalRunner, RunnerEvent
from local.simulator import SimulatorConfig, run_simulator
from orchestrators import names
from orchestrators.instance_ids import export_instance_id
from orchestrators.scheduled_exports import ORCHESTRATORS as SCHEDULER
from sinks.storage_clients import StorageSettings
from tests.support.scheduling import InFlight, record_last_run, toy_export, toy_plan
from tests.support.targets import sailpoint_target

CONTAINER = "bench-fanout"
TIMER_SCALE = 0.001
UNLIMITED = 10**9
Activity = Callable[[dict[str, Any]], dict[str, Any]]


class ExportSpans:
    """When each export instance was scheduled and when it ended, from the runner's events (thread-safe)."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, instance_id: str, starts: bool) -> None:
        with self._lock:
            (self.started if starts else self.ended)[instance_id] = time.perf_counter()

    def peak(self) -> int:
        moments = sorted([(t, 1) for t in self.started.values()] + [(t, -1) for t in self.ended.values()])
        level = highest = 0
        for _, delta in moments:
            level += delta
            highest = max(highest, level)
        return highest

    def figures(self, limit: int) -> dict[str, float]:
        spans = [self.ended[i] - self.started[i] for i in self.started if i in self.ended]
        makespan = max(self.ended.values()) - min(self.started.values())
        work = sum(spans)
        ideal = max(work / limit, max(spans))
        return {
            "makespan_s": makespan,
            "ideal_s": ideal,
            "ideal_ceil_s": math.ceil(len(spans) / limit) * work / len(spans),
            "avg_in_flight": work / makespan,
            "mean_export_s": work / len(spans),
        }


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
    jobs, spans = UpstreamJobs(), ExportSpans()
    activities = {
        **ACTIVITIES,
        names.CREATE_JOB: jobs.counting(ACTIVITIES[names.CREATE_JOB], opens=True),
        names.DOWNLOAD: jobs.counting(ACTIVITIES[names.DOWNLOAD], opens=False),
    }
    orchestrators = {**ORCHESTRATORS, **SCHEDULER}

    run_key = f"bench-{uuid.uuid4().hex[:12]}"
    target_of: dict[str, str] = {}  # export instance id -> target name

    def watch(event: RunnerEvent) -> None:
        child = event.detail.get("child_instance_id")
        if child not in target_of:  # a lane, not an export
            return
        if event.kind == "sub_orchestration_scheduled":
            spans.record(child, starts=True)
        elif event.kind in ("sub_orchestration_completed", "sub_orchestration_failed"):
            spans.record(child, starts=False)
        if event.kind == "sub_orchestration_failed":
            jobs.export_failed(target_of[child])

    with (
        run_simulator(config) as sim,
        LocalRunner(orchestrators, activities, timer_scale=TIMER_SCALE, on_event=watch) as runner,
    ):
        exports = []
        for n in range(targets):
            target = sailpoint_target(sim, name=f"fan-{n:04d}")
            target_of[export_instance_id(target.name, run_key)] = target.name
            exports.append(
                {
                    "target": target.to_input(),
                    "run_key": run_key,
                    "instance_id": export_instance_id(target.name, run_key),
                }
            )
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
        "children_peak": spans.peak(),
        **spans.figures(max_in_flight),
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
        f"average exports in flight {r['avg_in_flight']:.2f} of {r['max_in_flight']}; makespan "
        f"{r['makespan_s']:.1f} s, ideal K-wide window {r['ideal_s']:.1f} s (max(total export time / K, longest "
        f"export); ceil(N / K) x mean export {r['ideal_ceil_s']:.1f} s): {r['makespan_s'] / r['ideal_s']:.3f} x ideal "
        f"(goal <= 1.1); mean export {r['mean_export_s']:.2f} s\n"
        f"upstream requests {r['requests']}, 429s {r['throttled']}, all 4xx/5xx {r['errors']} "
        f"(rate limit {r['rate_limit']}); parent orchestration: {r['parent_replays']} replays, "
        f"{r['parent_events']} history events",
        flush=True,
    )
    return r


MIXED_TIMER_SCALE = 0.0005  # an orchestration minute takes 30 ms of real time
MIXED_MINUTES = (5.0, 120.0)
MIXED_SEED = 19
MIXED_COUNTS = (40, 100, 500)
LATER_SPREAD = 0.1  # a later run's durations differ from the recorded ones by up to this share


def _mixed_run(exports: list[dict[str, Any]], limit: int) -> tuple[dict[str, float], dict[str, float]]:
    """The run's figures, and each target's export span (orchestration seconds)."""
    gauge = InFlight({e["instance_id"] for e in exports})
    orchestrators = {**SCHEDULER, names.EXPORT_ORCHESTRATION: toy_export}
    with LocalRunner(orchestrators, ACTIVITIES, timer_scale=MIXED_TIMER_SCALE, on_event=gauge.watch) as runner:
        gauge.clock = runner.clock.now
        plan = {"exports": exports, "max_in_flight": limit}
        result = runner.run(names.SCHEDULED_EXPORTS_ORCHESTRATION, plan, f"export-scheduler-{uuid.uuid4().hex[:8]}")
    assert result.status == "Completed", result.error
    figures = {**gauge.figures(limit), "peak": float(gauge.peak)}
    spans = {
        e["target"]["name"]: (gauge.ended[e["instance_id"]] - gauge.started[e["instance_id"]]).total_seconds()
        for e in exports
    }
    return figures, spans


def measure_mixed(count: int, limit: int, storage: Azurite) -> dict[str, Any]:
    """A first run and a later run of `count` exports of mixed lengths; figures of both."""
    use_storage(storage, f"bench-mixed-{count}-{uuid.uuid4().hex[:6]}")
    draw = random.Random(MIXED_SEED + count)
    minutes = [draw.uniform(*MIXED_MINUTES) for _ in range(count)]
    first, spans = _mixed_run(_renamed(toy_plan([m * 60 for m in minutes]), "first"), limit)
    container = StorageSettings.from_env().container_client()
    for name, span_s in spans.items():
        record_last_run(container, name, span_s)  # what the first run's latest.json would say
    later_minutes = [m * (1 + draw.uniform(-LATER_SPREAD, LATER_SPREAD)) for m in minutes]
    later, _ = _mixed_run(_renamed(toy_plan([m * 60 for m in later_minutes]), "later"), limit)
    first["dealt_ratio"], later["dealt_ratio"] = dealt_ratio(minutes, limit), dealt_ratio(later_minutes, limit)
    return {"count": count, "limit": limit, "first": first, "later": later}


def dealt_ratio(minutes: list[float], limit: int) -> float:
    """What the earlier round-robin deal would take for these durations, against the ideal (computed, not run)."""
    lanes = max(sum(minutes[n::limit]) for n in range(limit))
    return lanes / max(sum(minutes) / limit, max(minutes))


def _renamed(exports: list[dict[str, Any]], run_key: str) -> list[dict[str, Any]]:
    """The same targets under another run key: the next schedule slot's instance ids."""
    return [{**e, "run_key": run_key, "instance_id": export_instance_id(e["target"]["name"], run_key)} for e in exports]


def run_mixed(storage: Azurite, counts: tuple[int, ...] = MIXED_COUNTS, max_in_flight: int = 8) -> list[dict[str, Any]]:
    low, high = MIXED_MINUTES
    print(
        f"== Mixed export lengths ({low:g}-{high:g} min, seed {MIXED_SEED}), K = {max_in_flight}, claimed lanes; "
        f"orchestration time (timers x {MIXED_TIMER_SCALE}) =="
    )
    print(
        f"{'exports':>7} {'run':>6} {'makespan min':>12} {'ideal min':>9} {'ratio':>6} {'in flight':>9} {'peak':>4} "
        f"{'dealt*':>7}"
    )
    rows = []
    for count in counts:
        row = measure_mixed(count, max_in_flight, storage)
        rows.append(row)
        for run in ("first", "later"):
            f = row[run]
            print(
                f"{count:>7} {run:>6} {f['makespan_s'] / 60:>12.1f} {f['ideal_s'] / 60:>9.1f} {f['ratio']:>5.3f}x "
                f"{f['avg_in_flight']:>9.2f} {int(f['peak']):>4} {f['dealt_ratio']:>6.3f}x",
                flush=True,
            )
    print(
        "(ideal = max(total export time / K, longest export); goals: first run <= 1.3x, later run <= 1.15x at 40 "
        "exports; a later run claims longest-first by each target's last observed duration; * the round-robin deal "
        "of the same durations, computed, for comparison)"
    )
    return rows
