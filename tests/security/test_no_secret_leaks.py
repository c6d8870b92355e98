"""Full exports with recognisable credentials, then a scan of everything they leave behind."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from local.cli import run_export
from local.simulator import GRAPH_FIXTURE_TOKEN, SAILPOINT_FIXTURE_SECRET, Simulator
from tests.support import storage
from tests.support.targets import sailpoint_target, viva_target

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]
SECRETS = (GRAPH_FIXTURE_TOKEN, SAILPOINT_FIXTURE_SECRET, "sim-sp-", "Bearer ")


def test_tokens_appear_nowhere_after_successful_and_failed_exports(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    simulator.config.fail_jobs = 1
    simulator.inject("graph.get", status=401, count=1)  # forces a token refresh mid-poll
    simulator.inject("sp.status", status=503, count=2)
    results = [run_export(viva_target(simulator), run_key=uuid.uuid4().hex, timer_scale=0.001)]
    simulator.config.fail_jobs = 1
    results.append(
        run_export(sailpoint_target(simulator, max_recreations=0), run_key=uuid.uuid4().hex, timer_scale=0.001)
    )
    assert [r.status for r in results] == ["Completed", "Failed"]
    container = storage.container()
    metadata = [b.metadata for b in container.list_blobs(include=["metadata"])]
    json_blobs = [storage.read_json(n) for n in storage.blob_names() if n.endswith(".json") and "/content" not in n]
    haystack = "\n".join(
        [
            json.dumps([[r.histories, r.custom_status, r.output, r.error] for r in results]),
            json.dumps(storage.events()),
            json.dumps(metadata),
            json.dumps(json_blobs),
            caplog.text,
        ]
    )
    assert "upstream call failed" in caplog.text  # the logs were really captured and scanned
    assert metadata
    assert "sha256" in json.dumps(metadata)
    for secret in SECRETS:
        assert secret not in haystack, f"{secret!r} leaked"
