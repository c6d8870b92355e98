"""What an operator sees of real exports on the local stack: log attributes, spans and metrics.

Exports run through the production orchestrator on the local runner, against the simulator over HTTP and
Azurite, with the OpenTelemetry SDK's in-memory exporters as the global providers (`tests.support.telemetry`).
"""

from __future__ import annotations

import logging
import uuid

import pytest

from local.cli import run_export
from local.simulator import Simulator
from orchestrators import names
from telemetry.context import EXPORT_ATTRIBUTES
from telemetry.instruments import (
    ATTRIBUTES,
    EXPORT_BYTES,
    EXPORT_COMMIT_LAG,
    EXPORT_DURATION,
    EXPORT_FAILURES,
    EXPORT_RUNS,
    EXPORT_STATUS_CALLS,
)
from tests.support import storage
from tests.support.targets import sailpoint_target, viva_target
from tests.support.telemetry import log_attributes, recorded

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_a_successful_export_records_a_span_per_activity_and_per_upstream_call_and_its_metrics(
    simulator: Simulator,
) -> None:
    telemetry = recorded()
    simulator.inject("graph.get", status=429, retry_after=7)
    target = viva_target(simulator, name=_name("goals"))
    result = run_export(target, run_key=uuid.uuid4().hex, timer_scale=0.001)
    assert result.status == "Completed", result.error

    spans = [s for s in telemetry.finished_spans() if (s.attributes or {}).get("target") == target.name]
    activities = sorted({str((s.attributes or {})["activity"]) for s in spans})
    assert activities == sorted([names.CREATE_JOB, names.CHECK_JOB, names.DOWNLOAD, names.PUBLISH_EVENT])
    for span in spans:
        assert (span.attributes or {})["instance_id"] == result.instance_id
    ids = {s.context.span_id for s in spans}
    calls = [s for s in telemetry.finished_spans() if s.parent is not None and s.parent.span_id in ids]
    routes = {(c.attributes or {})["http.route"] for c in calls}
    assert "/beta/employeeExperience/goals/exportJobs/{id}" in routes, routes
    throttled = [c for c in calls if (c.attributes or {}).get("http.response.status_code") == 429]
    assert len(throttled) == 1
    assert (throttled[0].attributes or {})["upstream.server_wait_s"] == 7.0
    assert (throttled[0].attributes or {})["upstream.attempt"] == 1
    for call in calls:
        url = str((call.attributes or {})["url.full"])
        assert "?" not in url
        assert url.startswith("http://127.0.0.1:")

    assert telemetry.count(EXPORT_RUNS, target=target.name, outcome="succeeded") == 1
    assert telemetry.count(EXPORT_DURATION, target=target.name) == 1
    assert telemetry.count(EXPORT_STATUS_CALLS, target=target.name) == 1
    assert telemetry.count(EXPORT_BYTES, target=target.name) == 1
    assert telemetry.count(EXPORT_COMMIT_LAG, target=target.name) == 1
    for name, attributes, _ in telemetry.points():
        if attributes.get("target") == target.name:
            assert set(attributes) == set(ATTRIBUTES[name]), name  # what the alert and workbook queries read
    stored = [v for _, a, v in telemetry.points(EXPORT_BYTES) if a.get("target") == target.name]
    assert stored == [float(result.output["blob"]["size"])]


def test_a_failed_export_produces_the_event_the_log_attributes_and_the_failure_metric_the_alert_reads(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    telemetry = recorded()
    caplog.set_level(logging.INFO)
    simulator.config.fail_jobs = 1
    simulator.inject("sp.create", status=503)  # each step logs a warning of its own: one query finds them all
    simulator.inject("sp.status", status=503)
    target = sailpoint_target(simulator, name=_name("spconfig"), max_recreations=0)
    result = run_export(target, run_key=uuid.uuid4().hex, timer_scale=0.001)
    assert result.status == "Failed"

    [event] = storage.events()
    assert event["type"] == "com.exportpipeline.export.failed"
    assert telemetry.count(EXPORT_FAILURES, target=target.name, kind="recreations", connector="sailpoint") == 1
    assert telemetry.count(EXPORT_RUNS, target=target.name, outcome="failed") == 1
    for name, attributes, _ in telemetry.points():
        if attributes.get("target") == target.name:
            assert set(attributes) == set(ATTRIBUTES[name]), name
    ours = [log_attributes(r) for r in caplog.records if getattr(r, "instance_id", None) == result.instance_id]
    assert ours, "no log record carried the run's instance id"
    for attributes in ours:
        assert set(EXPORT_ATTRIBUTES) - {"job_id"} <= set(attributes), attributes
        assert attributes["target"] == target.name
    failed = [r for r in caplog.records if r.getMessage() == f"export {target.name} failed (recreations)"]
    assert [log_attributes(r)["phase"] for r in failed] == ["notifying"]
    assert {log_attributes(r).get("job_id") for r in failed} == {event["data"]["job_id"]}
    polling = [a for a in ours if a["phase"] == "polling"]
    assert polling
    assert all(a["job_id"] == event["data"]["job_id"] for a in polling)
    phases = {a["phase"] for a in ours}
    assert {"creating", "polling", "notifying"} <= phases, phases
