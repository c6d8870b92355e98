"""The built-in specs of the living APIs against their simulated APIs, step by step: what each vendor's documents
say that a careless reading gets wrong (each test fails if the spec misreads it that way)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import ExportConnector, JobState
from connectors.http.envelopes import parse_salesforce_error
from connectors.registry import build_connector, spec_for
from connectors.spec.engine import SpecConnector
from credentials.static_token import StaticTokenProvider
from kernel.errors import ErrorKind, UpstreamError
from local.simulator import Simulator
from local.simulator.config import FIXTURE_COST_TOKEN, FIXTURE_INTUNE_TOKEN, FIXTURE_POWERBI_TOKEN
from tests.support.targets import cost_raw, intune_raw, powerbi_raw

pytestmark = pytest.mark.integration


def connector(raw: dict[str, Any], token: str) -> ExportConnector:
    return build_connector(raw["connector"], raw["base_url"], raw["params"], StaticTokenProvider("T", {"T": token}))


def test_intune_sentinel_expiry_of_a_running_job_reads_as_no_expiry(simulator: Simulator) -> None:
    """0001-01-01T00:00:00Z means "not yet" until the job completes; read as an expiry the job would look expired."""
    conn = connector(intune_raw(simulator), FIXTURE_INTUNE_TOKEN)
    created = conn.start_job()
    assert created.state is JobState.NOT_STARTED
    assert created.expires_at is None
    done = conn.check_job(conn.check_job(created))
    assert done.state is JobState.SUCCEEDED
    assert done.expires_at is not None
    assert not done.expires_at.startswith("0001")


def test_cost_details_job_is_the_location_on_the_api_origin(simulator: Simulator) -> None:
    """The create answers an empty 202 whose Location is the job, on the API's own origin (polled with the token)."""
    conn = connector(cost_raw(simulator), FIXTURE_COST_TOKEN)
    created = conn.start_job()
    assert created.job_ref is not None
    assert created.job_ref.startswith(simulator.cost_base_url)
    assert created.state is JobState.RUNNING
    running = conn.check_job(created)
    assert running.state in (JobState.RUNNING, JobState.SUCCEEDED)


def test_powerbi_202_while_running_is_progress_not_a_failure(simulator: Simulator) -> None:
    conn = connector(powerbi_raw(simulator), FIXTURE_POWERBI_TOKEN)
    created = conn.start_job()
    polled = conn.check_job(created)
    assert polled.state.is_active or polled.state is JobState.SUCCEEDED
    assert polled.retry_after_s is not None or polled.state is JobState.SUCCEEDED


SALESFORCE = spec_for("salesforce_bulk_query")


class Instance:
    """A credential whose token response named `instance_url`."""

    def __init__(self, instance_url: str) -> None:
        self.instance_url = instance_url
        self.calls = 0

    def get_token(self, *, force_refresh: bool = False) -> str:
        self.calls += 1
        return "token"


def salesforce(instance: str) -> SpecConnector:
    params = {"query": "SELECT Id FROM Account"}
    return SpecConnector(SALESFORCE, "https://login.salesforce.com", params, Instance(instance))


@pytest.mark.parametrize(
    "instance",
    [
        "https://evil.example.com",
        "http://acme.my.salesforce.com",  # the right host, but plain http
        "https://acme.my.salesforce.com.evil.example",  # the pattern as a prefix of another host
        "https://my.salesforce.com",  # the bare suffix: '*.' needs a label
        "https://user:pass@acme.my.salesforce.com",
        "https://acme.my.salesforce.com\n.evil",
        "javascript:alert(1)",
    ],
)
def test_salesforce_an_instance_url_off_its_allowed_hosts_is_refused_before_any_request(instance: str) -> None:
    conn = SpecConnector(
        SALESFORCE, "https://login.salesforce.com", {"query": "SELECT Id FROM Account"}, Instance(instance)
    )
    with pytest.raises(UpstreamError) as raised:
        conn.start_job()
    assert raised.value.kind is ErrorKind.PERMANENT


def test_salesforce_an_allowed_instance_url_becomes_the_api_origin() -> None:
    conn = salesforce("https://acme.my.salesforce.com/some/path")
    planned = conn.plan(SALESFORCE.create.request)
    assert planned.url == "https://acme.my.salesforce.com/services/data/v62.0/jobs/query"


def test_salesforce_a_loopback_instance_is_refused_when_loopback_upstreams_are_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXPORTS_ALLOW_LOOPBACK_UPSTREAMS", "false")
    conn = SpecConnector(
        SALESFORCE, "https://login.salesforce.com", {"query": "SELECT Id FROM Account"}, Instance("http://127.0.0.1:9")
    )
    with pytest.raises(UpstreamError, match="no token was sent there"):
        conn.plan(SALESFORCE.create.request)


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (b'[{"errorCode": "INVALIDJOB", "message": "bad job"}]', "bad job", "INVALIDJOB"),
        (b'[{"errorCode": "A", "message": "first"}, {"errorCode": "B", "message": "second"}]', "first", "A"),
        (
            b'{"error": "invalid_client", "error_description": "invalid client credentials"}',
            "invalid_client: invalid client credentials",
            "invalid_client",
        ),
        (b"[]", "HTTP 400", None),
        (b"not json", "HTTP 400", None),
        (b'[{"errorCode": "X", "message": "token sekret echoed"}]', "token [redacted] echoed", "X"),
    ],
)
def test_the_salesforce_error_envelope_reads_its_array_and_its_oauth_form(
    body: bytes, message: str, code: str | None
) -> None:
    details = parse_salesforce_error(body, "HTTP 400", "sekret")
    assert (details.message, details.code) == (message, code)
