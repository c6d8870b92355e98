"""Whatever an upstream answers, a connector turns it into a job status or a classified error, nothing else."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import JobStatus
from connectors.spec.engine import SpecConnector
from credentials.static_token import StaticTokenProvider
from kernel.errors import UpstreamError
from tests.support.connectors import sailpoint_connector, viva_goals_connector

TOKENS = StaticTokenProvider("T", {"T": "fixture-token"})
VIVA = viva_goals_connector(
    "https://graph.microsoft.com/beta",
    TOKENS,
    org="9ab0fcab-c1d4-4b26-963b-a3c33155f853",
    view="2c8b5fd3-67c3-4677-8eb3-e0066c4d2fd7",
)
SAILPOINT = sailpoint_connector("https://acme.api.identitynow.com/beta", TOKENS)
HEADER_VALUES = st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=40)
SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=40)
FIELDS = st.sampled_from(
    [
        "id",
        "status",
        "jobId",
        "expirationDateTime",
        "expiration",
        "createdDateTime",
        "created",
        "resourceLocation",
        "statusDetail",
        "message",
        "value",
        "completed",
    ]
)
PAYLOADS = st.recursive(
    st.dictionaries(FIELDS, SCALARS, max_size=8),
    lambda inner: st.dictionaries(FIELDS, inner, max_size=3),
    max_leaves=12,
)


def parse(connector: SpecConnector, body: Any, retry_after: str) -> JobStatus | UpstreamError:
    response = httpx.Response(200, json=body, headers=[(b"Retry-After", retry_after.encode("latin-1"))])
    try:
        status: JobStatus = connector.read_job(response, "job-1")
    except UpstreamError as error:
        return error
    return status


@given(PAYLOADS | SCALARS, HEADER_VALUES)
def test_any_graph_job_payload_is_a_status_or_a_classified_error(body: Any, retry_after: str) -> None:
    result = parse(VIVA, body, retry_after)
    if isinstance(result, JobStatus):
        assert result.job_id
        assert result.expires_at is None or result.expires_at.endswith("Z")


@given(PAYLOADS | SCALARS, HEADER_VALUES)
def test_any_sailpoint_job_payload_is_a_status_or_a_classified_error(body: Any, retry_after: str) -> None:
    result = parse(SAILPOINT, body, retry_after)
    if isinstance(result, JobStatus):
        assert result.job_id


@given(st.binary(max_size=500), st.sampled_from([400, 401, 403, 404, 409, 410, 429, 500, 503]))
def test_any_error_body_is_classified(body: bytes, status: int) -> None:
    error = VIVA.api.classify(httpx.Response(status, content=body))
    assert error.message
    assert "fixture-token" not in str(error)
