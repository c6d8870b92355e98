"""One HTTP client per process and origin: polls from separate activity calls reuse one connection."""

from __future__ import annotations

import httpx
import pytest

from activities.export_activities import check_export_job
from connectors.http.clients import close_all, socket_read_bytes
from connectors.http.transport import HttpSettings
from connectors.registry import build_connector
from credentials.static_token import StaticTokenProvider
from targets import parse_targets
from tests.connectors.hostile import FIXTURE_TOKEN, PARAMS
from tests.support.hostile_upstream import Reply, Request, graph_job, hostile_upstream, zeros
from tests.support.targets import viva_raw


def running(request: Request, reply: Reply) -> None:
    reply.json(200, graph_job(status="running"), {"Retry-After": "1"})


def test_two_connectors_built_for_two_polls_share_one_connection() -> None:
    tokens = StaticTokenProvider("T", {"T": FIXTURE_TOKEN})
    with hostile_upstream(running) as upstream:
        for _ in range(2):
            build_connector("viva_goals", upstream.graph_base_url, PARAMS, tokens).get_job("job-1")
    assert len(upstream.requests) == 2
    assert upstream.connections == 1


@pytest.mark.integration
def test_two_check_activities_reuse_one_connection(export_env: str) -> None:
    with hostile_upstream(running) as upstream:
        target = next(iter(parse_targets({"targets": [viva_raw(upstream.graph_base_url)]}).values())).to_input()
        results = [check_export_job({"target": target, "job_id": "job-1"}) for _ in range(2)]
    assert [r["job"]["state"] for r in results] == ["running", "running"]
    assert upstream.connections == 1


def test_closing_the_shared_clients_leaves_the_next_call_a_working_client() -> None:
    with hostile_upstream(running) as upstream:
        settings = HttpSettings(trust_env=False)
        first = settings.client_for(upstream.url)
        assert settings.client_for(upstream.url) is first
        close_all()
        assert first.is_closed
        again = settings.client_for(upstream.url)
        assert again is not first
        assert again.get(f"{upstream.graph_base_url}/x").status_code == 200


def test_a_large_body_arrives_in_socket_reads_larger_than_httpcores_64_kib() -> None:
    body = 16 * 1024 * 1024

    def download(request: Request, reply: Reply) -> None:
        reply.head(200, {"Content-Length": str(body)})
        for piece in zeros(body):
            reply.write(piece)

    read_bytes = socket_read_bytes()  # what building the first shared client does
    with (
        hostile_upstream(download) as upstream,
        httpx.Client() as client,
        client.stream("GET", f"{upstream.url}/content") as response,
    ):
        pieces = [len(piece) for piece in response.iter_raw()]
    assert sum(pieces) == body
    assert read_bytes is not None, "this httpcore no longer reads HTTP11Connection.READ_NUM_BYTES at a time"
    assert 64 * 1024 < max(pieces) <= read_bytes
