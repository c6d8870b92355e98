"""Every orchestrator and activity the app runs, by registered name: one table for the host and the local runner.

`function_app.py` registers exactly these with the Functions host, and the local
runner (`python -m local run`, the tests, the benchmarks) runs exactly these, so
a function cannot be reachable in Azure yet unknown to the runner, or the other
way round. The names themselves are in `orchestrators/names.py`, the one module
orchestrators may import to call each other and the activities.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping
from typing import Any

from activities import export_activities, scheduler_activities
from orchestrators import names, scheduled_exports
from orchestrators.export_orchestrator import export_orchestrator

# A live view of both tables (not a copy), so a test that swaps one activity swaps it here too.
ACTIVITIES: Mapping[str, Callable[[Any], Any]] = ChainMap(export_activities.ACTIVITIES, scheduler_activities.ACTIVITIES)
ORCHESTRATORS: Mapping[str, Callable[..., Any]] = {
    names.EXPORT_ORCHESTRATION: export_orchestrator,
    **scheduled_exports.ORCHESTRATORS,
}

__all__ = ["ACTIVITIES", "ORCHESTRATORS"]
