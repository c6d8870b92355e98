"""Every orchestrator and activity the app runs, by registered name: one table for the host and the local runner.

`function_app.py` registers exactly these with the Functions host, and the local
runner (`python -m local run`, the tests, the benchmarks) runs exactly these, so
a function cannot be reachable in Azure yet unknown to the runner, or the other
way round. The names themselves are in `orchestrators/names.py`, the one module
orchestrators may import to call each other and the activities.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from activities import export_activities, scheduler_activities
from activities.observed import observe
from orchestrators import names, scheduled_exports, scheduled_exports_v1
from orchestrators.export_orchestrator import export_orchestrator

ORCHESTRATORS: Mapping[str, Callable[..., Any]] = {
    names.EXPORT_ORCHESTRATION: export_orchestrator,
    **scheduled_exports.ORCHESTRATORS,
    # The previous release's scheduler, under its old names until its last instance ends (see that module).
    **scheduled_exports_v1.ORCHESTRATORS,
}

Activity = Callable[[dict[str, Any]], dict[str, Any]]


def _as_registered(table: Mapping[str, Activity], name: str) -> Activity:
    """The activity under `name` in its module's `table`, looked up at each call: an entry replaced there (as
    tests replace one to inject a fault) is what runs, as when this table was that very dict."""
    original = table[name]

    @functools.wraps(original)
    def call(payload: dict[str, Any]) -> dict[str, Any]:
        return table[name](payload)

    return call


# Each activity, the export's and the scheduler's, observed the same way (log attributes, a span, the metrics
# only activities may emit).
ACTIVITIES: Mapping[str, Activity] = {
    name: observe(name, _as_registered(table, name))
    for table in (export_activities.ACTIVITIES, scheduler_activities.ACTIVITIES)
    for name in table
}

__all__ = ["ACTIVITIES", "ORCHESTRATORS"]
