"""The SailPoint connector against the simulator over real HTTP: tokens, jobs, errors, rate limit."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from connectors.base import JobState
from connectors.http.envelopes import parse_sailpoint_error
from connectors.spec.engine import SpecConnector
from credentials.client_credentials import ClientCredentialsTokenProvider
from kernel.errors import ErrorKind, UpstreamError
from local.simulator import SAILPOINT_FIXTURE_CLIENT, SAILPOINT_FIXTURE_SECRET, Simulator
from tests.support.connectors import sailpoint_connector
from tests.support.content import expected_sha256

pytestmark = pytest.mark.integration


def tokens(
    sim: Simulator, client: str = SAILPOINT_FIXTURE_CLIENT, secret: str = SAILPOINT_FIXTURE_SECRET
) -> ClientCredentialsTokenProvider:
    return ClientCredentialsTokenProvider(sim.sailpoint_token_url, client, secret, parse_sailpoint_error)


def connector(
    sim: Simulator, provider: ClientCredentialsTokenProvider | None = None, **params: object
) -> SpecConnector:
    return sailpoint_connector(sim.sailpoint_base_url("v2025"), provider or tokens(sim), params)


def test_create_status_download_keeps_the_json_byte_for_byte(simulator: Simulator) -> None:
    conn = connector(simulator, include_types=["RULE", "SOURCE"], description="nightly")
    job = conn.start_job()
    assert job.state is JobState.NOT_STARTED
    assert job.expires_at
    states = [conn.get_job(job.job_id) for _ in range(2)]
    assert [s.state for s in states] == [JobState.RUNNING, JobState.SUCCEEDED]
    with conn.open_content(states[-1]) as stream:
        body = b"".join(stream.iter_bytes())
        assert stream.content_type == "application/json"
        assert stream.content_length is None  # chunked
    assert hashlib.sha256(body).hexdigest() == expected_sha256("sailpoint", job.job_id, simulator.config.content_size)
    rules = [o for o in json.loads(body)["objects"] if o["self"]["type"] == "RULE"]
    assert rules
    assert all("jwsSignature" in r for r in rules)


def test_failed_job_surfaces_the_upstream_message(simulator: Simulator) -> None:
    simulator.config.fail_jobs = 1
    conn = connector(simulator)
    job = conn.start_job()
    last = [conn.get_job(job.job_id) for _ in range(2)][-1]
    assert last.state is JobState.FAILED
    assert last.failure_reason
    assert last.failure_reason.startswith("java.lang.IllegalStateException")


def test_unknown_job_is_permanent_404(simulator: Simulator) -> None:
    with pytest.raises(UpstreamError) as caught:
        connector(simulator).get_job("ef38f94347e94562b5bb8424a56397d8")
    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.status_code == 404


def test_server_rejecting_types_is_permanent_with_its_message(simulator: Simulator) -> None:
    simulator.inject(
        "sp.create",
        status=400,
        body={"detailCode": "400.1 Bad Request Content", "messages": [{"text": "Supplied types are not supported"}]},
    )
    with pytest.raises(UpstreamError) as caught:
        connector(simulator).start_job()
    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.message == "Supplied types are not supported"


def test_token_is_cached_across_calls(simulator: Simulator) -> None:
    provider = tokens(simulator)
    conn = connector(simulator, provider)
    job = conn.start_job()
    conn.get_job(job.job_id)
    conn.get_job(job.job_id)
    assert len(simulator.stats.requests_for("sp.token")) == 1


def test_token_expiring_mid_poll_is_refreshed(simulator: Simulator) -> None:
    provider = tokens(simulator)
    conn = connector(simulator, provider)
    job = conn.start_job()
    simulator.expire_sailpoint_tokens()  # the cached token dies before the client expected it to
    assert conn.get_job(job.job_id).state is JobState.RUNNING
    assert len(simulator.stats.requests_for("sp.token")) == 2
    assert [r.status for r in simulator.stats.requests_for("sp.status")] == [401, 200]


def test_bad_client_credentials_are_an_auth_error_naming_the_client_not_the_secret(simulator: Simulator) -> None:
    with pytest.raises(UpstreamError) as caught:
        connector(simulator, tokens(simulator, secret="wrong-secret")).start_job()
    assert caught.value.kind is ErrorKind.AUTH
    assert SAILPOINT_FIXTURE_CLIENT in str(caught.value)
    assert "wrong-secret" not in str(caught.value)


def test_token_endpoint_throttling_is_transient_with_its_retry_after(simulator: Simulator) -> None:
    simulator.inject("sp.token", status=429, retry_after=60)
    with pytest.raises(UpstreamError) as caught:
        connector(simulator).start_job()
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.retry_after_s == 60


def test_client_without_scope_is_forbidden(simulator: Simulator) -> None:
    simulator.config.sailpoint_clients["reader"] = {"secret": "s", "scopes": ["idn:read"]}
    with pytest.raises(UpstreamError) as caught:
        connector(simulator, tokens(simulator, "reader", "s")).start_job()
    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.status_code == 403


def test_rate_limit_gives_429_with_retry_after(simulator: Simulator) -> None:
    simulator.config.rate_limit_requests = 3
    conn = connector(simulator)
    job = conn.start_job()
    conn.get_job(job.job_id)
    conn.get_job(job.job_id)
    with pytest.raises(UpstreamError) as caught:
        conn.get_job(job.job_id)
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.status_code == 429
    assert caught.value.retry_after_s is not None
    assert 1 <= caught.value.retry_after_s <= 10


def test_missing_bearer_is_401_in_the_documented_shape(simulator: Simulator) -> None:
    response = httpx.get(f"{simulator.sailpoint_base_url()}/sp-config/export/abc")
    assert response.status_code == 401
    assert response.json()["error"].startswith("JWT validation failed")


@pytest.mark.parametrize(("raw", "state"), [("PAUSED", JobState.UNKNOWN), ("complete", JobState.SUCCEEDED)])
def test_status_values_map_whatever_their_case_and_unknown_ones_read_as_running_and_are_logged(
    simulator: Simulator, caplog: pytest.LogCaptureFixture, raw: str, state: JobState
) -> None:
    conn = connector(simulator)
    job = conn.start_job()
    simulator.inject("sp.status", status=200, body={"jobId": job.job_id, "status": raw, "type": "EXPORT"})
    status = conn.get_job(job.job_id)
    assert status.state is state
    assert status.upstream_status == raw
    assert ("unknown status 'PAUSED'" in caplog.text) is (state is JobState.UNKNOWN)
