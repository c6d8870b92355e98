"""Upstream calls one export costs, and how late it notices a finished job, against a fixed 5 s poller.

Polling is where an export pipeline spends an upstream's rate limit, and
polling rarely is paid for in lag: the time between the job finishing
upstream and the poll that sees it. So this runs one full export per
connector and job duration on the local runner against the simulator, counts
every request the simulator saw (create, status, content, token), and measures
the lag. Durations are virtual: the runner's timers are scaled
(`TIMER_SCALE`) and the simulator ages its jobs by the runner's virtual clock
(`borrowed_clock`), so a one-hour job takes seconds yet is seen exactly as
long by both sides; activity calls still take their real time, which the
virtual clock includes. The simulator's rate limit is raised because scaled
timers compress an hour of polls into seconds of real time; refusals are
counted anyway.

The fixed-5 s poller (what Airbyte and the vendor scripts do) is computed, not
run: it polls at 5, 10, 15 ... s after the create, so it makes about d / 5
status calls (ceil(d / 5) printed) and, as a job ends anywhere between two of
its polls, is late by 2.5 s on average and 5 s at worst. With a Retry-After the
minimum is ceil(d / Retry-After) + 1 status calls (the +1: a poll right after
the create).
"""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from activities.export_activities import ACTIVITIES
from app_functions import ORCHESTRATORS
from benchmarks.environment import use_storage
from local.azurite import Azurite
from local.cli import run_export
from local.runner import LocalRunner
from local.simulator import Simulator, SimulatorConfig, run_simulator
from local.simulator.state import borrowed_clock
from targets import Target
from tests.support.targets import sailpoint_target, viva_target

CONTAINER = "bench-calls"
CONTENT_SIZE = 64 * 1024
TIMER_SCALE = 0.001
FIXED_INTERVAL_S = 5.0
UNLIMITED = 10**9
DEFAULT_DURATIONS_S = (20.0, 300.0, 3600.0)
KINDS = {
    "graph.create": "create",
    "graph.get": "status",
    "graph.content": "content",
    "sp.create": "create",
    "sp.status": "status",
    "sp.download": "content",
    "sp.token": "token",
}


@dataclass(frozen=True)
class Case:
    connector: str  # viva_goals | sailpoint
    retry_after_s: int | None  # what the simulator sends on status polls; None: no header

    def target(self, sim: Simulator) -> Target:
        # The production defaults (floor 5 s, ceiling 300 s), not the tests' fast ones.
        if self.connector == "viva_goals":
            return viva_target(sim, name="calls-viva", floor_s=5, ceiling_s=300)
        return sailpoint_target(sim, name="calls-sp", floor_s=5, ceiling_s=300)


def fixed_poller(duration_s: float, interval_s: float = FIXED_INTERVAL_S) -> tuple[int, float]:
    """Status calls and mean lag of a poller that checks every `interval_s` after the create."""
    return max(1, math.ceil(duration_s / interval_s)), interval_s / 2


def measure(case: Case, duration_s: float, storage: Azurite) -> dict[str, Any]:
    """One export of a job that takes `duration_s` (virtual) upstream: its requests and its lag."""
    use_storage(storage, CONTAINER)
    graph_wait = case.retry_after_s if case.connector == "viva_goals" else None
    sp_wait = case.retry_after_s if case.connector == "sailpoint" else None
    config = SimulatorConfig(
        job_polls=None,
        job_duration_s=duration_s,
        retry_after_s=graph_wait,
        sailpoint_retry_after_s=sp_wait,
        content_size=CONTENT_SIZE,
        rate_limit_requests=UNLIMITED,
    )
    with (
        run_simulator(config) as sim,
        LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=TIMER_SCALE) as runner,
        borrowed_clock(runner.clock.now),
    ):
        began = time.perf_counter()
        result = run_export(case.target(sim), run_key=uuid.uuid4().hex, timer_scale=TIMER_SCALE, runner=runner)
        wall_s = time.perf_counter() - began
        assert result.status == "Completed", result.error
        counts = Counter(KINDS.get(r.route, "other") for r in sim.stats.requests)
        refused = sum(1 for r in sim.stats.requests if r.status >= 400)
        job = sim.state.jobs[result.output["job_id"]]
        ready_at = job.created + timedelta(seconds=duration_s)
        lag_s = (job.finished_at - ready_at).total_seconds() if job.finished_at else math.nan
    fixed_polls, fixed_lag = fixed_poller(duration_s)
    return {
        "connector": case.connector,
        "server_wait": f"Retry-After {case.retry_after_s} s" if case.retry_after_s else "none",
        "duration_s": duration_s,
        "counts": counts,
        "total": sum(counts.values()),
        "minimum_status": math.ceil(duration_s / case.retry_after_s) + 1 if case.retry_after_s else None,
        "refused": refused,
        "lag_s": lag_s,
        "fixed_polls": fixed_polls,
        "fixed_lag_s": fixed_lag,
        "wall_s": wall_s,
    }


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def run(durations_s: list[float], retry_after_values: list[int], storage: Azurite) -> list[dict[str, Any]]:
    print(f"== Upstream calls and completion lag per export (virtual time, timer_scale {TIMER_SCALE}) ==")
    print(
        f"{'connector':<11} {'server wait':<17} {'job':>6} {'status':>7} {'min':>5} {'all calls':>9} "
        f"{'lag s':>6} {'fixed-5s status':>15} {'fixed-5s mean lag':>17} {'4xx/5xx':>7} {'wall s':>6}",
        flush=True,
    )
    cases = [Case("viva_goals", seconds) for seconds in retry_after_values] + [Case("sailpoint", None)]
    rows = []
    for case in cases:
        for duration_s in durations_s:
            r = measure(case, duration_s, storage)
            rows.append(r)
            minimum = "-" if r["minimum_status"] is None else str(r["minimum_status"])
            print(
                f"{r['connector']:<11} {r['server_wait']:<17} {_duration(duration_s):>6} {r['counts']['status']:>7} "
                f"{minimum:>5} {r['total']:>9} {r['lag_s']:>6.1f} {r['fixed_polls']:>15} {r['fixed_lag_s']:>17.1f} "
                f"{r['refused']:>7} {r['wall_s']:>6.1f}",
                flush=True,
            )
    print(
        "(status = status calls made; min = ceil(duration / Retry-After) + 1; all calls = create + status + "
        "content + token; lag = job ready upstream -> the poll that saw it; fixed-5s = a poller checking every "
        "5 s, computed: its lag is 0-5 s, 2.5 s on average)"
    )
    return rows
