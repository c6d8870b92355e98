"""Strings a hostile upstream sends are bounded, redacted or refused where they enter the connectors."""

from __future__ import annotations

import pytest

from connectors.base import JobState, JobStatus
from connectors.http.envelopes import parse_sailpoint_error
from connectors.http.upstream_ids import MAX_ID
from credentials.client_credentials import ClientCredentialsTokenProvider
from kernel.errors import ErrorKind, UpstreamError
from kernel.redaction import MAX_MESSAGE, MAX_STATUS, REDACTED
from tests.connectors.hostile import FIXTURE_TOKEN, sailpoint, viva
from tests.support.hostile_upstream import Reply, Request, Scenario, graph_job, hostile_upstream

FIXTURE_CLIENT_SECRET = "hostile-client-secret-value"  # a test fixture, not a credential


def answer(payload: object, status: int = 200) -> Scenario:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(status, payload)

    return scenario


def test_an_absurdly_long_job_id_is_a_permanent_protocol_error() -> None:
    with hostile_upstream(answer(graph_job("j" * 10_000))) as upstream, pytest.raises(UpstreamError) as caught:
        viva(upstream).start_job()
    assert caught.value.kind is ErrorKind.PERMANENT
    assert len(str(caught.value)) < MAX_MESSAGE


def test_a_job_id_of_the_longest_accepted_length_is_kept_exactly() -> None:
    job_id = "k" * MAX_ID
    with hostile_upstream(answer(graph_job(job_id))) as upstream:
        assert viva(upstream).get_job(job_id).job_id == job_id


def test_a_40_kb_status_detail_is_cut_with_a_marker() -> None:
    body = graph_job(status="failed", statusDetail="why " * 10_000)
    with hostile_upstream(answer(body)) as upstream:
        job = viva(upstream).get_job("job-1")
    assert job.state is JobState.FAILED
    assert job.failure_reason is not None
    assert len(job.failure_reason) == MAX_MESSAGE
    assert job.failure_reason.endswith("]")
    assert " chars, sha256 " in job.failure_reason  # says it was cut


def test_a_huge_status_value_is_cut_and_read_as_unknown() -> None:
    with hostile_upstream(answer(graph_job(status="running" * 5_000))) as upstream:
        job = viva(upstream).get_job("job-1")
    assert job.state is JobState.UNKNOWN
    assert len(job.upstream_status) == MAX_STATUS


def test_a_70_kb_sailpoint_failure_message_is_cut_with_a_marker() -> None:
    body = {"jobId": "sp-1", "status": "FAILED", "message": "reason " * 10_000}
    with hostile_upstream(answer(body)) as upstream:
        job = sailpoint(upstream).get_job("sp-1")
    assert job.failure_reason is not None
    assert len(job.failure_reason) == MAX_MESSAGE
    assert job.failure_reason.endswith("]")
    assert " chars, sha256 " in job.failure_reason  # says it was cut


@pytest.mark.parametrize(
    "location", ["http://127.0.0.1:1/a\x01b", "http://127.0.0.1:1/a\nSet-Cookie: x", "http://127.0.0.1:1/\x7f"]
)
def test_a_download_location_with_a_control_character_is_permanent(location: str) -> None:
    body = graph_job(status="succeeded", resourceLocation=location)
    with hostile_upstream(answer(body)) as upstream, pytest.raises(UpstreamError) as caught:
        viva(upstream).get_job("job-1")
    assert caught.value.kind is ErrorKind.PERMANENT


def test_a_recorded_download_location_with_a_control_character_is_permanent_when_opened() -> None:
    with hostile_upstream(answer({})) as upstream:
        job = JobStatus("job-1", JobState.SUCCEEDED, "succeeded", download_url=f"{upstream.url}/a\x01b")
        with pytest.raises(UpstreamError) as caught, viva(upstream).open_content(job):
            pass
    assert caught.value.kind is ErrorKind.PERMANENT
    assert upstream.requests == []


def test_a_status_detail_echoing_the_bearer_token_is_redacted_before_it_is_cut() -> None:
    def scenario(request: Request, reply: Reply) -> None:
        echo = "x" * (MAX_MESSAGE - 30) + f" you sent {request.bearer} (raw {request.headers['authorization']})"
        reply.json(200, graph_job(status="failed", statusDetail=echo))

    with hostile_upstream(scenario) as upstream:
        job = viva(upstream).get_job("job-1")
    assert job.failure_reason is not None
    assert FIXTURE_TOKEN[:8] not in job.failure_reason
    assert job.failure_reason.endswith("]")
    assert " chars, sha256 " in job.failure_reason  # says it was cut


def test_a_sailpoint_failure_message_echoing_the_bearer_token_is_redacted() -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(200, {"jobId": "sp-1", "status": "FAILED", "message": f"token {request.bearer} is not welcome"})

    with hostile_upstream(scenario) as upstream:
        job = sailpoint(upstream).get_job("sp-1")
    assert job.failure_reason == f"token {REDACTED} is not welcome"


def test_a_token_endpoint_error_echoing_the_client_secret_is_redacted() -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(503, {"error": "server_error", "error_description": f"could not check {request.body.decode()}"})

    with hostile_upstream(scenario) as upstream:
        tokens = ClientCredentialsTokenProvider(
            f"{upstream.url}/oauth/token", "client-1", FIXTURE_CLIENT_SECRET, parse_sailpoint_error
        )
        with pytest.raises(UpstreamError) as caught:
            tokens.get_token()
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert FIXTURE_CLIENT_SECRET not in str(caught.value.to_dict())
    assert REDACTED in caught.value.message


def test_an_error_code_holding_the_token_is_dropped() -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(400, {"error": {"code": request.bearer, "message": "bad"}})

    with hostile_upstream(scenario) as upstream, pytest.raises(UpstreamError) as caught:
        viva(upstream).get_job("job-1")
    assert FIXTURE_TOKEN not in str(caught.value.to_dict())
