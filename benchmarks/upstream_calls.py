"""Upstream calls one export costs, against the fewest that the server's Retry-After (or our floor) allows.

Polling is where an export pipeline wastes an upstream's rate limit, so this
counts every request the simulator saw during one full export on the local
runner (create, status, content, token) and sets it against the minimum: one
create, one status poll per Retry-After interval of the job's duration plus
the poll a client may make right after creating, one download, and for
SailPoint one token. The simulator finishes jobs by wall-clock time, so the
runner's timers run unscaled (`timer_scale=1.0`): its virtual clock then is the
real clock the simulator measures, and a poll that came too early would show.
SailPoint sends no Retry-After, so its row is set against our backoff floor:
fewer polls than that is the backoff working, and the lag column is its price.
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
from benchmarks.environment import use_storage
from local.azurite import Azurite
from local.cli import ORCHESTRATORS, run_export
from local.runner import LocalRunner
from local.simulator import Simulator, SimulatorConfig, run_simulator
from targets import Target
from tests.support.targets import sailpoint_target, viva_target

CONTAINER = "bench-calls"
CONTENT_SIZE = 64 * 1024
KINDS = {
    "graph.create": "create", "graph.get": "status", "graph.content": "content",
    "sp.create": "create", "sp.status": "status", "sp.download": "content", "sp.token": "token",
}  # fmt: skip


@dataclass(frozen=True)
class Case:
    connector: str  # viva_goals | sailpoint
    retry_after_s: int | None  # what the simulator sends on status polls; None: no header

    def target(self, sim: Simulator) -> Target:
        return viva_target(sim, name="calls-viva") if self.connector == "viva_goals" else sailpoint_target(sim)


def measure(case: Case, duration_s: float, storage: Azurite) -> dict[str, Any]:
    """One export of a job that takes `duration_s` upstream; the requests it cost and the minimum."""
    use_storage(storage, CONTAINER)
    retry_after = case.retry_after_s if case.connector == "viva_goals" else None
    sailpoint_retry_after = case.retry_after_s if case.connector == "sailpoint" else None
    config = SimulatorConfig(job_polls=None, job_duration_s=duration_s, retry_after_s=retry_after,
                             sailpoint_retry_after_s=sailpoint_retry_after, content_size=CONTENT_SIZE)  # fmt: skip
    with run_simulator(config) as sim, LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=1.0) as runner:
        target = case.target(sim)
        began = time.perf_counter()
        result = run_export(target, run_key=uuid.uuid4().hex, timer_scale=1.0, runner=runner)
        wall_s = time.perf_counter() - began
        assert result.status == "Completed", result.error
        counts = Counter(KINDS.get(r.route, "other") for r in sim.stats.requests)
        refused = sum(1 for r in sim.stats.requests if r.status >= 400)
        job = sim.state.jobs[result.output["job_id"]]
        ready_at = job.created + timedelta(seconds=duration_s)
        lag_s = (job.finished_at - ready_at).total_seconds() if job.finished_at else math.nan
    interval = case.retry_after_s or target.poll_settings().floor_s
    minimum = {"create": 1, "status": math.ceil(duration_s / interval) + 1, "content": 1,
               "token": 1 if case.connector == "sailpoint" else 0}  # fmt: skip
    return {
        "connector": case.connector,
        "interval": f"Retry-After {interval:g} s" if case.retry_after_s else f"no header, floor {interval:g} s",
        "counts": counts,
        "minimum": minimum,
        "total": sum(counts.values()),
        "minimum_total": sum(minimum.values()),
        "refused": refused,
        "lag_s": lag_s,
        "wall_s": wall_s,
    }


def run(duration_s: float, retry_after_values: list[int], storage: Azurite) -> list[dict[str, Any]]:
    print(f"== Upstream calls per export: job of {duration_s:g} s upstream, runner timers unscaled ==")
    print(
        f"{'connector':<11} {'server wait':<22} {'create':>6} {'status':>8} {'content':>8} {'token':>6} "
        f"{'total':>9} {'ratio':>6} {'4xx/5xx':>7} {'lag s':>6} {'wall s':>7}",
        flush=True,
    )
    cases = [Case("viva_goals", seconds) for seconds in retry_after_values] + [Case("sailpoint", None)]
    rows = []
    for case in cases:
        r = measure(case, duration_s, storage)
        rows.append(r)
        c, m = r["counts"], r["minimum"]
        print(
            f"{r['connector']:<11} {r['interval']:<22} {c['create']:>3}/{m['create']:<2} "
            f"{c['status']:>4}/{m['status']:<3} "
            f"{c['content']:>4}/{m['content']:<3} {c['token']:>3}/{m['token']:<2} "
            f"{r['total']:>4}/{r['minimum_total']:<4} {r['total'] / r['minimum_total']:>6.2f} {r['refused']:>7} "
            f"{r['lag_s']:>6.1f} {r['wall_s']:>7.1f}",
            flush=True,
        )
    print(
        "(actual/minimum; minimum status = ceil(duration / interval) + 1, the +1 being a poll right after the create; "
        "lag = job ready upstream → the poll that saw it)"
    )
    return rows
