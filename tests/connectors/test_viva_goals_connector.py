"""The Viva Goals connector against the simulator over real HTTP: every documented row, quirk and error."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import JobState
from connectors.spec.engine import SpecConnector
from credentials.static_token import StaticTokenProvider
from kernel.errors import ErrorKind, UpstreamError
from local.simulator import GRAPH_FIXTURE_TOKEN, Simulator
from tests.support.connectors import viva_goals_connector
from tests.support.content import expected_sha256
from tests.support.targets import ORG

pytestmark = pytest.mark.integration


def connector(sim: Simulator, token: str = GRAPH_FIXTURE_TOKEN, org: str = ORG) -> SpecConnector:
    return viva_goals_connector(sim.graph_base_url, StaticTokenProvider("T", {"T": token}), org=org)


def finish(conn: SpecConnector, job_id: str) -> Iterator[JobState]:
    for _ in range(10):
        job = conn.get_job(job_id)
        yield job.state
        if not job.state.is_active:
            return


@pytest.mark.parametrize("wrap_value", [False, True])
@pytest.mark.parametrize("hyphen_timestamps", [False, True])
def test_create_poll_download_with_each_documented_entity_shape(
    simulator: Simulator, wrap_value: bool, hyphen_timestamps: bool
) -> None:
    simulator.config.wrap_value, simulator.config.hyphen_timestamps = wrap_value, hyphen_timestamps
    conn = connector(simulator)
    job = conn.start_job()
    assert job.state is JobState.NOT_STARTED
    first = conn.get_job(job.job_id)
    assert first.state is JobState.RUNNING
    assert first.retry_after_s == 1
    assert first.expires_at is not None
    assert first.expires_at.endswith("Z")
    done = conn.get_job(job.job_id)
    assert done.state is JobState.SUCCEEDED
    assert done.download_url
    assert done.retry_after_s is None
    with conn.open_content(done) as stream:
        assert stream.content_type == "text/csv"
        digest = hashlib.sha256(b"".join(stream.iter_bytes(65536))).hexdigest()
        assert stream.content_length is not None
    assert digest == expected_sha256("graph", job.job_id, simulator.config.content_size)


@pytest.mark.parametrize("quoted", [False, True])
def test_409_carries_the_existing_job_id_for_adoption(simulator: Simulator, quoted: bool) -> None:
    simulator.config.quoted_location = quoted
    conn = connector(simulator)
    running = conn.start_job()
    with pytest.raises(UpstreamError) as caught:
        conn.start_job()
    assert caught.value.kind is ErrorKind.CONFLICT
    assert caught.value.existing_job_id == running.job_id


def test_409_without_target_falls_back_to_the_location_header(simulator: Simulator) -> None:
    conn = connector(simulator)
    running = conn.start_job()
    simulator.inject("graph.create", status=409, body={"error": {"code": "notAllowed", "message": "busy"}})
    with pytest.raises(UpstreamError) as caught:
        conn.start_job()
    # the injected 409 has no Location either: then we cannot adopt and must not loop
    assert caught.value.kind is ErrorKind.PERMANENT
    assert running.job_id


def test_unknown_organization_is_permanent_with_the_server_message(simulator: Simulator) -> None:
    with pytest.raises(UpstreamError) as caught:
        connector(simulator, org="11111111-2222-3333-4444-555555555555").start_job()
    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.status_code == 404
    assert caught.value.message == "Goals organization not found"


def test_unknown_job_is_permanent_404_and_malformed_key_is_400(simulator: Simulator) -> None:
    conn = connector(simulator)
    with pytest.raises(UpstreamError) as unknown:
        conn.get_job("j!eyJpZCI6IjEyMyJ9")
    with pytest.raises(UpstreamError) as malformed:
        conn.get_job("j!not base64/../x")
    assert (unknown.value.status_code, unknown.value.message) == (404, "Specified export job not found")
    assert (malformed.value.status_code, malformed.value.message) == (400, "Invalid JobKey specified")
    assert all(r.path.count("/") == 5 for r in simulator.stats.requests_for("graph.get"))  # id was escaped


def test_the_look_up_after_a_crash_finds_the_job_this_run_created(simulator: Simulator) -> None:
    conn = connector(simulator)
    job = conn.start_job()
    assert [j.job_id for j in conn.find_own_jobs(datetime.now(UTC) - timedelta(minutes=1))] == [job.job_id]


def test_failed_job_carries_the_status_detail(simulator: Simulator) -> None:
    simulator.config.fail_jobs = 1
    conn = connector(simulator)
    job_id = conn.start_job().job_id
    states = list(finish(conn, job_id))
    assert states[-1] is JobState.FAILED
    assert "Export failed" in (conn.get_job(job_id).failure_reason or "")


def test_read_only_token_cannot_create(simulator: Simulator) -> None:
    read_only = simulator.issue_graph_token(["Goals-Export.Read.All"])
    with pytest.raises(UpstreamError) as caught:
        connector(simulator, token=read_only).start_job()
    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.status_code == 403


def test_connection_dropped_mid_content_is_transient(simulator: Simulator) -> None:
    simulator.config.content_size = 4 * 1024 * 1024
    conn = connector(simulator)
    job = conn.start_job()
    done = [conn.get_job(job.job_id) for _ in range(2)][-1]
    simulator.inject("graph.content", drop_after_bytes=1024 * 1024)
    with pytest.raises(UpstreamError) as caught, conn.open_content(done) as stream:
        for _ in stream.iter_bytes():
            pass
    assert caught.value.kind is ErrorKind.TRANSIENT


def test_bearer_token_is_not_sent_to_another_origin(simulator: Simulator) -> None:
    simulator.config.content_host = "localhost"  # resourceLocation on another origin than 127.0.0.1
    conn = connector(simulator)
    job = conn.start_job()
    done = [conn.get_job(job.job_id) for _ in range(2)][-1]
    assert done.download_url
    assert done.download_url.startswith("http://localhost:")
    with conn.open_content(done) as stream:
        size = sum(len(c) for c in stream.iter_bytes())
    assert size > 0
    downloads = simulator.stats.requests_for("graph.content")
    assert [r.had_authorization for r in downloads] == [False]
    assert all(r.had_authorization for r in simulator.stats.requests_for("graph.get"))


def test_unknown_status_values_read_as_still_running_and_are_logged(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    conn = connector(simulator)
    job = conn.start_job()
    simulator.inject("graph.get", status=200, body={"id": job.job_id, "status": "unknownFutureValue"})
    status = conn.get_job(job.job_id)
    assert status.state is JobState.UNKNOWN
    assert status.state.is_active
    assert "unknownFutureValue" in caplog.text


def test_a_job_created_before_the_run_started_is_never_taken_for_our_own(simulator: Simulator) -> None:
    conn = connector(simulator)
    job = conn.start_job()
    created = datetime.fromisoformat(str(job.created_at).replace("Z", "+00:00"))
    assert [found.job_id for found in conn.find_own_jobs(not_before=created - timedelta(minutes=1))] == [job.job_id]
    assert conn.find_own_jobs(not_before=created + timedelta(hours=1)) == []
