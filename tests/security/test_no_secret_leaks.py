"""Full exports against an upstream that ECHOES the credentials it receives, then a scan of everything left behind.

The simulator's `echo_credentials` makes every free text it writes (a failed job's `statusDetail` or `message`,
error messages, the token endpoint's errors) repeat the Authorization header and the token request's form, so
the bearer tokens and the client secret travel back inside the very fields that reach custom status, history,
output, the event, manifests, blob metadata, logs and the CLI's lines, and into everything the telemetry
records: every span's name and attributes, every metric data point's attributes, every log record's attributes.
"""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from rich.console import Console

from local.cli import run_export, summary
from local.progress import ProgressPrinter
from local.simulator import GRAPH_FIXTURE_TOKEN, SAILPOINT_FIXTURE_SECRET, Simulator
from tests.support import storage
from tests.support.targets import sailpoint_target, viva_target
from tests.support.telemetry import log_attributes, recorded

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]
SECRETS = (GRAPH_FIXTURE_TOKEN, SAILPOINT_FIXTURE_SECRET, "sim-sp-", "Bearer ")
ECHO_MARK = "request carried Authorization"


def test_credentials_echoed_by_the_upstream_appear_nowhere_after_successful_and_failed_exports(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    telemetry = recorded()
    telemetry.spans.clear()
    cli = io.StringIO()
    progress = ProgressPrinter(Console(file=cli, width=400))
    simulator.config.echo_credentials = True
    simulator.config.fail_jobs = 1
    simulator.inject("graph.get", status=401, count=1)  # forces a token refresh mid-poll
    simulator.inject("graph.get", status=503, count=1)  # an echoing error message, retried
    viva = viva_target(simulator)
    results = [run_export(viva, run_key=uuid.uuid4().hex, timer_scale=0.001, progress=progress)]
    simulator.config.fail_jobs = 1
    simulator.inject("sp.token", status=503, count=1)  # the token endpoint echoes the client secret
    simulator.inject("sp.status", status=503, count=2)
    sailpoint = sailpoint_target(simulator, max_recreations=0)
    results.append(run_export(sailpoint, run_key=uuid.uuid4().hex, timer_scale=0.001, progress=progress))
    assert [r.status for r in results] == ["Completed", "Failed"]
    container = storage.container()
    metadata = [b.metadata for b in container.list_blobs(include=["metadata"])]
    json_blobs = [storage.read_json(n) for n in storage.blob_names() if n.endswith(".json") and "/content" not in n]
    summaries = [summary(t, r) for t, r in zip((viva, sailpoint), results, strict=True)]
    spans = telemetry.finished_spans()
    recorded_attributes = [(s.name, dict(s.attributes or {}), [e.name for e in s.events]) for s in spans]
    metric_attributes = [[name, attributes] for name, attributes, _ in telemetry.points()]
    record_attributes = [log_attributes(record) for record in caplog.records]
    haystack = "\n".join(
        [
            json.dumps([[r.histories, r.custom_status, r.output, r.error] for r in results]),
            json.dumps(storage.events()),
            json.dumps(metadata),
            json.dumps(json_blobs),
            json.dumps(summaries),
            cli.getvalue(),
            caplog.text,
            json.dumps([recorded_attributes, metric_attributes, record_attributes], default=repr),
        ]
    )
    assert any(a.get("http.response.status_code") == 401 for _, a, _ in recorded_attributes)  # the calls were seen
    assert any(name == "export.failures" for name, _ in metric_attributes)
    assert any(a.get("instance_id") == results[0].instance_id for a in record_attributes)
    assert "upstream call failed" in caplog.text  # the logs were really captured and scanned
    assert metadata
    assert "sha256" in json.dumps(metadata)
    assert ECHO_MARK in haystack  # the upstream really echoed, and its words were kept (without the secrets)
    assert "client_secret=" in haystack  # the token endpoint's echo of its form reached a message
    for secret in SECRETS:
        assert secret not in haystack, f"{secret!r} leaked"
