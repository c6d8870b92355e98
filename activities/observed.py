"""Every activity, observed the same way: its export's log attributes, one span, and the run's metrics.

Why here and once: the four activities differ, but what an operator needs of each does not. `observe` wraps
each entry of the activity table (`app_functions.ACTIVITIES`, which the host and the local runner both run):

- every log record written during the activity carries `target`, `connector`, `instance_id`, `job_id` and
  `phase` (`telemetry.context`), so one query finds a run's whole story;
- one span per execution (`activity <name>`), marked failed with the answer's error kind or the exception's
  type, never its text; upstream calls inside are its children (`telemetry.spans`);
- the metrics that only an activity may emit (the orchestrator replays, so a metric there would count again
  on every replay): bytes stored and the commit lag from the download, and from the publish (which knows the
  outcome) the run's duration, status calls, re-creations, outcome and failure kind.

The job id is upstream text, so it is redacted and bounded like any other before it is recorded.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from kernel.redaction import clean_message
from kernel.timestamps import parse_timestamp
from orchestrators import names
from telemetry.context import export_context
from telemetry.instruments import instruments
from telemetry.spans import activity_span, failed

log = logging.getLogger(__name__)
Payload = dict[str, Any]
Activity = Callable[[Payload], Payload]

PHASES = {
    names.CREATE_JOB: "creating",
    names.CHECK_JOB: "polling",
    names.DOWNLOAD: "downloading",
    names.PUBLISH_EVENT: "notifying",
}
MAX_JOB_ID = 200
KINDS = frozenset(
    {"deadline", "recreations", "transient", "permanent", "auth", "conflict", "expired", "storage", "invalid_settings"}
)


def observe(name: str, activity: Activity) -> Activity:
    phase = PHASES.get(name, name)

    @functools.wraps(activity)
    def observed(payload: Payload) -> Payload:
        attributes = export_attributes(payload, phase)
        with export_context(**attributes), activity_span(name, attributes) as span:
            answer = activity(payload)
            error = answer.get("error") if isinstance(answer, Mapping) else None
            if isinstance(error, Mapping):
                failed(span, str(error.get("kind") or "error")[:32])
            else:
                _record_metrics(name, payload, answer, attributes)
            return answer

    return observed


def export_attributes(payload: Any, phase: str) -> dict[str, str]:
    """The export an activity's input belongs to (every activity input names its target; most its run)."""
    data: Mapping[str, Any] = payload if isinstance(payload, Mapping) else {}
    target: Mapping[str, Any] = data["target"] if isinstance(data.get("target"), Mapping) else {}
    job: Mapping[str, Any] = data["job"] if isinstance(data.get("job"), Mapping) else {}
    job_id = data.get("job_id") or job.get("job_id")
    values = {
        "target": target.get("name"),
        "connector": target.get("connector"),
        "instance_id": data.get("instance_id"),
        "job_id": clean_message(job_id, limit=MAX_JOB_ID) if isinstance(job_id, str) and job_id else None,
        "phase": phase,
    }
    return {key: " ".join(str(value).split())[:MAX_JOB_ID] for key, value in values.items() if value is not None}


def _record_metrics(name: str, payload: Payload, answer: Any, attributes: Mapping[str, str]) -> None:
    common = {key: attributes[key] for key in ("target", "connector") if key in attributes}
    if name == names.DOWNLOAD and isinstance(answer, Mapping) and not answer.get("reused"):
        blob = answer.get("blob")
        if isinstance(blob, Mapping) and isinstance(blob.get("size"), int):
            instruments().stored_bytes.record(blob["size"], common)
        ready = parse_timestamp(payload.get("ready_at"))
        if ready is not None:
            instruments().commit_lag.record(max(0.0, (datetime.now(UTC) - ready).total_seconds()), common)
    elif name == names.PUBLISH_EVENT:
        _record_outcome(payload, common)


def _record_outcome(payload: Payload, common: Mapping[str, str]) -> None:
    """A run ended and its one event is out: the run's own figures, once (after the event was published)."""
    meters = instruments()
    outcome = "failed" if payload.get("outcome") == "failed" else "succeeded"
    meters.runs.add(1, {**common, "outcome": outcome})
    started = parse_timestamp(payload.get("started_at"))
    if started is not None:
        meters.duration.record(max(0.0, (datetime.now(UTC) - started).total_seconds()), {**common, "outcome": outcome})
    polls = payload.get("polls")
    if isinstance(polls, int):
        meters.status_calls.record(polls, common)
    recreations = payload.get("recreations")
    if isinstance(recreations, int) and recreations > 0:
        meters.recreations.add(recreations, common)
    if outcome == "failed":
        kind = payload.get("failure_kind")
        kind = kind if kind in KINDS else "unknown"
        meters.failures.add(1, {**common, "kind": kind})
        log.warning("export %s failed (%s)", common.get("target", "?"), kind)
    else:
        log.info("export %s succeeded", common.get("target", "?"))
