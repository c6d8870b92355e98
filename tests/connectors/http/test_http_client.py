"""The shared HTTP client against the simulator: what a hostile or careless server answer can and cannot do."""

from __future__ import annotations

import pytest

from connectors.http.upstream_ids import path_segment
from connectors.spec.engine import SpecConnector
from credentials.static_token import StaticTokenProvider
from kernel.errors import ErrorKind, UpstreamError
from kernel.redaction import MAX_MESSAGE, REDACTED, clean_message, redact
from local.simulator import GRAPH_FIXTURE_TOKEN, Simulator
from tests.connectors.hostile import FIXTURE_JWT
from tests.support.connectors import viva_goals_connector


def connector(sim: Simulator) -> SpecConnector:
    return viva_goals_connector(sim.graph_base_url, StaticTokenProvider("T", {"T": GRAPH_FIXTURE_TOKEN}))


def test_redact_blanks_given_secrets_bearer_values_and_jwts() -> None:
    text = f"got Bearer abcdefghijklmnopqrstuvwxyz0123 and {FIXTURE_JWT} and s3cret-value"
    cleaned = redact(text, "s3cret-value", None, "")
    assert "abcdefghijklmnop" not in cleaned
    assert "eyJhbGci" not in cleaned
    assert "s3cret-value" not in cleaned
    assert cleaned.count(REDACTED) == 3


def test_clean_message_is_one_bounded_line() -> None:
    cleaned = clean_message("first line\n\tsecond line " + "x" * 2000)
    assert "\n" not in cleaned
    assert cleaned.startswith("first line second line")
    assert len(cleaned) == MAX_MESSAGE


@pytest.mark.parametrize(
    ("job_id", "segment"),
    [
        ("j!kmZP9dp", "j%21kmZP9dp"),
        ("a/b?c#d", "a%2Fb%3Fc%23d"),
        ("100%", "100%25"),
        (".", "%2E"),
        ("..", "%2E%2E"),
        ("...", "..."),
    ],
)
def test_an_opaque_job_id_becomes_exactly_one_path_segment(job_id: str, segment: str) -> None:
    assert path_segment(job_id) == segment


def test_an_empty_job_id_is_refused_before_any_request() -> None:
    with pytest.raises(UpstreamError) as caught:
        path_segment("")
    assert caught.value.kind is ErrorKind.PERMANENT


@pytest.mark.integration
def test_a_huge_error_body_on_download_is_read_only_up_to_an_envelope(simulator: Simulator) -> None:
    conn = connector(simulator)
    job = conn.start_job()
    done = [conn.get_job(job.job_id) for _ in range(2)][-1]
    simulator.inject("graph.content", status=404, body={"error": {"message": "x" * (8 * 1024 * 1024)}})
    with pytest.raises(UpstreamError) as caught, conn.open_content(done):
        pass
    assert caught.value.kind is ErrorKind.EXPIRED
    assert caught.value.status_code == 404
    assert len(caught.value.message) <= MAX_MESSAGE + len("result no longer available: ")
