"""The cancel endpoint cleans the upstream job up (a terminated orchestration runs no more code of its own), and
the status endpoint counts the parts a multi-part download has committed so far. Real handlers, a real durable
client against the loopback fake of the host, the simulated Salesforce API and Azurite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.registry import build_connector
from credentials.static_token import StaticTokenProvider
from local.simulator import FIXTURE_SALESFORCE_TOKEN, Simulator
from sinks.blob_names import part_blob_name
from targets import Target, parse_targets
from tests.support import storage
from tests.support.targets import salesforce_raw
from tests.triggers.fake_durable_host import FakeHost, fake_durable_host
from tests.triggers.test_http_api import cancel, start, started_id, status_of
from triggers import http_api

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch, simulator: Simulator) -> Iterator[FakeHost]:
    known: dict[str, Target] = parse_targets({"targets": [salesforce_raw(simulator)]})
    monkeypatch.setattr(http_api, "configured_targets", lambda: known)
    with fake_durable_host() as fake:
        yield fake


def progress(phase: str, job_id: str) -> dict[str, Any]:
    return {
        "phase": phase,
        "target": "accounts",
        "job_id": job_id,
        "upstream_status": "InProgress",
        "polls": 1,
        "next_poll_at": None,
        "bytes": None,
        "recreations": 0,
        "generation": 1,
        "deadline_at": "2026-12-31T00:00:00Z",
        "last_error": None,
    }


def running_job(simulator: Simulator) -> str:
    raw = salesforce_raw(simulator)
    tokens = StaticTokenProvider("T", {"T": FIXTURE_SALESFORCE_TOKEN})
    conn = build_connector(raw["connector"], simulator.salesforce_login_url, raw["params"], tokens)
    return conn.start_job().job_id


def test_cancel_aborts_the_upstream_job_and_says_so(host: FakeHost, simulator: Simulator) -> None:
    simulator.config.never_finish = True
    instance_id = started_id(start(host, {"target": "accounts"}))
    job_id = running_job(simulator)
    host.instances[instance_id]["customStatus"] = progress("waiting", job_id)

    answer = cancel(host, instance_id)

    assert answer.status_code == 202
    assert json.loads(answer.get_body())["cleanup"] == {"sent": True, "error": None}
    assert [r.status for r in simulator.stats.requests_for("sf.abort")] == [200]


def test_cancel_before_any_job_exists_sends_nothing_upstream(host: FakeHost, simulator: Simulator) -> None:
    instance_id = started_id(start(host, {"target": "accounts"}))

    answer = cancel(host, instance_id)

    assert answer.status_code == 202
    assert "cleanup" not in json.loads(answer.get_body())
    assert simulator.stats.requests_for("sf.abort") == []


def test_a_failed_abort_never_fails_the_cancel(host: FakeHost, simulator: Simulator) -> None:
    simulator.config.never_finish = True
    instance_id = started_id(start(host, {"target": "accounts"}))
    host.instances[instance_id]["customStatus"] = progress("waiting", running_job(simulator))
    simulator.inject("sf.abort", status=503, count=2)

    answer = cancel(host, instance_id)

    assert answer.status_code == 202
    assert host.terminated
    cleanup = json.loads(answer.get_body())["cleanup"]
    assert cleanup["sent"] is True
    assert "503" in cleanup["error"]


def test_status_counts_the_parts_stored_while_a_download_runs(host: FakeHost) -> None:
    instance_id = started_id(start(host, {"target": "accounts"}))
    host.instances[instance_id]["customStatus"] = progress("downloading", "750sim000000000001")
    for index in (1, 2):
        storage.container().upload_blob(part_blob_name("accounts", "750sim000000000001", index, "text/csv"), b"x")

    shown = json.loads(status_of(host, instance_id).get_body())["progress"]

    assert shown["parts_stored"] == 2
    assert shown["phase"] == "downloading"
