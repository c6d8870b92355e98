"""The pipeline's metrics, each made once on first use from the global meter (a proxy until one is set).

Names are what Application Insights shows in `AppMetrics.Name` (`customMetrics.name`), and the attributes
are its `Properties` (`customDimensions`); the alerts and the workbook in `infra/modules/monitoring.bicep`
query exactly these (tests/infra holds them to `METRIC_NAMES` and `ATTRIBUTES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from opentelemetry import metrics

METER = "exportpipeline"
EXPORT_DURATION = "export.duration"
EXPORT_BYTES = "export.stored_bytes"
EXPORT_STATUS_CALLS = "export.status_calls"
EXPORT_RECREATIONS = "export.recreations"
EXPORT_FAILURES = "export.failures"
EXPORT_COMMIT_LAG = "export.commit_lag"
EXPORT_RUNS = "export.runs"
TARGET_AGE = "target.age"
TARGET_FRESHNESS_CHANGES = "target.freshness_changes"
METRIC_NAMES = (
    EXPORT_DURATION,
    EXPORT_BYTES,
    EXPORT_STATUS_CALLS,
    EXPORT_RECREATIONS,
    EXPORT_FAILURES,
    EXPORT_COMMIT_LAG,
    EXPORT_RUNS,
    TARGET_AGE,
    TARGET_FRESHNESS_CHANGES,
)
# The attributes each metric carries (values are bounded words: target and connector names, kinds, states);
# the tests hold what the code records, and what the alert and workbook queries read, to this table.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    EXPORT_DURATION: ("target", "connector", "outcome"),
    EXPORT_BYTES: ("target", "connector"),
    EXPORT_STATUS_CALLS: ("target", "connector"),
    EXPORT_RECREATIONS: ("target", "connector"),
    EXPORT_FAILURES: ("target", "connector", "kind"),
    EXPORT_COMMIT_LAG: ("target", "connector"),
    EXPORT_RUNS: ("target", "connector", "outcome"),
    TARGET_AGE: ("target", "connector", "state"),
    TARGET_FRESHNESS_CHANGES: ("target", "connector", "state"),
}


@dataclass(frozen=True)
class Instruments:
    duration: metrics.Histogram
    stored_bytes: metrics.Histogram
    status_calls: metrics.Histogram
    recreations: metrics.Counter
    failures: metrics.Counter
    commit_lag: metrics.Histogram
    runs: metrics.Counter
    target_age: metrics.Histogram
    freshness_changes: metrics.Counter


@cache
def instruments() -> Instruments:
    meter = metrics.get_meter(METER)
    return Instruments(
        duration=meter.create_histogram(EXPORT_DURATION, unit="s", description="start of a run to its outcome"),
        stored_bytes=meter.create_histogram(EXPORT_BYTES, unit="By", description="size of each committed export"),
        status_calls=meter.create_histogram(EXPORT_STATUS_CALLS, unit="{call}", description="status calls per run"),
        recreations=meter.create_counter(EXPORT_RECREATIONS, unit="{job}", description="upstream jobs re-created"),
        failures=meter.create_counter(EXPORT_FAILURES, unit="{run}", description="failed runs, by kind"),
        commit_lag=meter.create_histogram(
            EXPORT_COMMIT_LAG, unit="s", description="upstream result seen ready to blob committed"
        ),
        runs=meter.create_counter(EXPORT_RUNS, unit="{run}", description="finished runs, by outcome"),
        target_age=meter.create_histogram(
            TARGET_AGE, unit="s", description="age of a target's latest.json at each freshness check"
        ),
        freshness_changes=meter.create_counter(
            TARGET_FRESHNESS_CHANGES, unit="{change}", description="a target turning stale or fresh again"
        ),
    )
