"""End to end: what a function-key holder sends to POST /api/exports can never make a credential travel to a
server of their choosing. Requests go through the real handler and a real durable client (fake host over
HTTP); whatever it starts is then run through the real create-job activity, with real credentials in the
environment, against the upstream simulator and a collecting server, both on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from activities.export_activities import create_export_job
from local.simulator import GRAPH_FIXTURE_TOKEN, SAILPOINT_FIXTURE_CLIENT, SAILPOINT_FIXTURE_SECRET, Simulator
from targets import parse_targets
from tests.support.loopback_server import loopback_server
from tests.support.targets import viva_raw
from tests.triggers.fake_durable_host import LOOP, FakeHost, fake_durable_host
from tests.triggers.test_http_api import request
from triggers import http_api

EVENTGRID_KEY = "eventgrid-topic-key-that-must-stay-home"
SECRETS = (GRAPH_FIXTURE_TOKEN, SAILPOINT_FIXTURE_CLIENT, SAILPOINT_FIXTURE_SECRET, EVENTGRID_KEY)


class Collector:
    """A standard-library server on 127.0.0.1 that records every request it gets (the attacker's)."""

    def __init__(self) -> None:
        self.received: list[str] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                collector.received.append(
                    f"{self.command} {self.path}\n{self.headers}\n{body.decode(errors='replace')}"
                )
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _record

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.handler = Handler
        self.url = ""


@pytest.fixture
def collector() -> Iterator[Collector]:
    running = Collector()
    with loopback_server(running.handler, name="collector") as served:
        running.url = served.url
        yield running


@pytest.fixture
def host(simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHost]:
    """Two configured targets on the simulator, their credentials set, and another secret the app holds."""
    goals = viva_raw(simulator.graph_base_url)
    spconfig = {
        "name": "spconfig",
        "connector": "sailpoint",
        "base_url": simulator.sailpoint_base_url("v2025"),
        "auth": {
            "kind": "client_credentials_env",
            "client_id_env": "TEST_SP_CLIENT_ID",
            "client_secret_env": "TEST_SP_CLIENT_SECRET",
        },
    }
    known = parse_targets({"targets": [goals, spconfig]})
    monkeypatch.setattr(http_api, "configured_targets", lambda: known)
    monkeypatch.setenv("TEST_GRAPH_TOKEN", GRAPH_FIXTURE_TOKEN)
    monkeypatch.setenv("TEST_SP_CLIENT_ID", SAILPOINT_FIXTURE_CLIENT)
    monkeypatch.setenv("TEST_SP_CLIENT_SECRET", SAILPOINT_FIXTURE_SECRET)
    monkeypatch.setenv("EVENTGRID_TOPIC_KEY", EVENTGRID_KEY)
    with fake_durable_host() as fake:
        fake.configured = {"goals": goals, "spconfig": spconfig}  # type: ignore[attr-defined]
        yield fake


def attacks(host: FakeHost, collector: str) -> list[dict[str, Any]]:
    """Every way the old inline target let a caller pick the destination or the credential."""
    goals, spconfig = host.configured["goals"], host.configured["spconfig"]  # type: ignore[attr-defined]
    client_auth = spconfig["auth"]
    return [
        {**goals, "base_url": f"{collector}/beta"},
        {**goals, "base_url": f"{collector}/beta", "auth": {"kind": "bearer_env", "env": "EVENTGRID_TOPIC_KEY"}},
        {**spconfig, "auth": {**client_auth, "token_url": f"{collector}/oauth/token"}},
        {**spconfig, "base_url": f"{collector}/v2025"},
        {**spconfig, "auth": {**client_auth, "client_secret_env": "EVENTGRID_TOPIC_KEY", "token_url": collector}},
        {**goals, "name": "goals-copy", "base_url": f"{collector}/beta"},
    ]


def test_no_credential_reaches_a_server_the_caller_names(
    host: FakeHost, collector: Collector, simulator: Simulator
) -> None:
    answers = [
        LOOP.run_until_complete(http_api.start_export(request({"target": attack}), host.client()))
        for attack in attacks(host, collector.url)
    ]
    override = {"name": "spconfig", "params": {"description": "asked for through the webhook"}}
    allowed = LOOP.run_until_complete(http_api.start_export(request({"target": override}), host.client()))

    created = [create_export_job({"target": payload["target"]}) for _, _, payload in host.started]

    leaked = sorted({secret for secret in SECRETS for seen in collector.received if secret in seen})
    assert leaked == []
    assert collector.received == []
    assert [answer.status_code for answer in answers] == [400] * len(answers)
    assert all(json.loads(answer.get_body())["status"] == 400 for answer in answers)
    assert allowed.status_code == 202
    # the allowed one ran, on the simulator
    assert [sorted(result) for result in created] == [["adopted", "job", "schema_version"]]
    assert sum(simulator.stats.jobs_created.values()) == 1
