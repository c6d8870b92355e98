"""What every connector promises, checked against each built-in spec on the simulator over real HTTP.

Every built-in spec (the seeds' and the four living APIs') is driven by the one spec connector and sends
through the same API client, but each reaches it through its own paths, envelope and token provider, so a
shared promise is checked for each spec, not once: a 401 asks for a fresh token exactly once, a 429 carries
the server's `Retry-After`, a token echoed in an error body never reaches a message, a hostile job id is
requested as one escaped path segment, and an expired result reads as EXPIRED.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from connectors.base import ExportConnector, JobState, JobStatus
from connectors.http.envelopes import parse_graph_error, parse_sailpoint_error, parse_salesforce_error
from connectors.http.upstream_ids import path_segment
from connectors.spec.engine import SpecConnector
from connectors.spec.loader import load_specs
from credentials.client_credentials import ClientCredentialsTokenProvider
from credentials.static_token import StaticTokenProvider
from kernel.errors import ErrorKind, UpstreamError
from kernel.redaction import REDACTED
from local.simulator import (
    FIXTURE_ENTRA_CLIENT_ID,
    FIXTURE_ENTRA_CLIENT_SECRET,
    FIXTURE_SALESFORCE_CLIENT_ID,
    FIXTURE_SALESFORCE_CLIENT_SECRET,
    GRAPH_FIXTURE_TOKEN,
    SAILPOINT_FIXTURE_CLIENT,
    SAILPOINT_FIXTURE_SECRET,
    Simulator,
)
from tests.connectors.hostile import FIXTURE_JWT
from tests.support.connectors import sailpoint_connector, viva_goals_connector
from tests.support.targets import cost_raw, intune_raw, powerbi_raw, salesforce_raw

pytestmark = pytest.mark.integration


class CountingTokens:
    """The connector's real token provider, with a count of the fresh tokens the connector asked for."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.forced: int = 0
        self.issued: list[str] = []

    @property
    def instance_url(self) -> str | None:
        """What the inner provider's last token response named as the API instance (Salesforce), if anything."""
        value = getattr(self.inner, "instance_url", None)
        return value if isinstance(value, str) else None

    def get_token(self, *, force_refresh: bool = False) -> str:
        self.forced += force_refresh
        token: str = self.inner.get_token(force_refresh=force_refresh)
        self.issued.append(token)
        return token


@dataclass(frozen=True)
class Upstream:
    """One connector as the contract sees it: how to build it, its simulator routes, its error envelope."""

    name: str
    build: Callable[[Simulator, CountingTokens], ExportConnector]
    tokens: Callable[[Simulator], Any]
    create_route: str
    status_route: str
    job_path: str  # the collection the job's URL sits under
    envelope: Callable[[str], Any]  # an error body carrying `message` in this upstream's shape
    job_in_path: bool = True  # False: the job is a Location URL, never built from an id


VIVA_GOALS = Upstream(
    "viva_goals",
    lambda sim, tokens: viva_goals_connector(sim.graph_base_url, tokens),
    lambda sim: StaticTokenProvider("T", {"T": GRAPH_FIXTURE_TOKEN}),
    "graph.create",
    "graph.get",
    "/exportJobs/",
    lambda message: {"error": {"code": "badRequest", "message": message}},
)
SAILPOINT = Upstream(
    "sailpoint_sp_config",
    lambda sim, tokens: sailpoint_connector(sim.sailpoint_base_url("v2025"), tokens),
    lambda sim: ClientCredentialsTokenProvider(
        sim.sailpoint_token_url, SAILPOINT_FIXTURE_CLIENT, SAILPOINT_FIXTURE_SECRET, parse_sailpoint_error
    ),
    "sp.create",
    "sp.status",
    "/sp-config/export/",
    lambda message: {"detailCode": "400.1 Bad request content", "messages": [{"text": message}]},
)


def entra(scope: str) -> Callable[[Simulator], Any]:
    return lambda sim: ClientCredentialsTokenProvider(
        sim.entra_token_url(), FIXTURE_ENTRA_CLIENT_ID, FIXTURE_ENTRA_CLIENT_SECRET, parse_graph_error, scope=scope
    )


def graph_envelope(message: str) -> dict[str, Any]:
    return {"error": {"code": "BadRequest", "message": message}}


def spec_upstream(name: str, raw: Callable[[Simulator], dict[str, Any]], **given: Any) -> Upstream:
    def build(sim: Simulator, tokens: CountingTokens) -> ExportConnector:
        target = raw(sim)
        return SpecConnector(load_specs()[name], target["base_url"], target["params"], tokens)

    return Upstream(name, build, **given)


INTUNE = spec_upstream(
    "intune_report_export",
    intune_raw,
    tokens=entra("https://graph.microsoft.com/.default"),
    create_route="intune.create",
    status_route="intune.get",
    job_path="/exportJobs/",
    envelope=graph_envelope,
)
POWERBI = spec_upstream(
    "powerbi_export_to_file",
    powerbi_raw,
    tokens=entra("https://analysis.windows.net/powerbi/api/.default"),
    create_route="pbi.create",
    status_route="pbi.status",
    job_path="/exports/",
    envelope=graph_envelope,
)
COST_DETAILS = spec_upstream(
    "cost_details_report",
    cost_raw,
    tokens=entra("https://management.azure.com/.default"),
    create_route="cost.create",
    status_route="cost.status",
    job_path="/costDetailsOperationResults/",
    envelope=graph_envelope,
    job_in_path=False,
)
SALESFORCE = spec_upstream(
    "salesforce_bulk_query",
    salesforce_raw,
    tokens=lambda sim: ClientCredentialsTokenProvider(
        sim.salesforce_token_url, FIXTURE_SALESFORCE_CLIENT_ID, FIXTURE_SALESFORCE_CLIENT_SECRET, parse_salesforce_error
    ),
    create_route="sf.create",
    status_route="sf.status",
    job_path="/jobs/query/",
    envelope=lambda message: [{"errorCode": "INVALIDJOB", "message": message}],
)
UPSTREAMS = [VIVA_GOALS, SAILPOINT, INTUNE, POWERBI, COST_DETAILS, SALESFORCE]


@pytest.fixture(params=UPSTREAMS, ids=lambda upstream: upstream.name)
def upstream(request: pytest.FixtureRequest) -> Upstream:
    value: Upstream = request.param
    return value


def test_the_contract_covers_every_built_in_spec() -> None:
    assert sorted(upstream.name for upstream in UPSTREAMS) == sorted(load_specs())


def connect(sim: Simulator, upstream: Upstream) -> tuple[ExportConnector, CountingTokens]:
    tokens = CountingTokens(upstream.tokens(sim))
    return upstream.build(sim, tokens), tokens


def finished(conn: ExportConnector) -> JobStatus:
    job = conn.start_job()
    for _ in range(10):
        job = conn.check_job(job)
        if not job.state.is_active:
            return job
    raise AssertionError(f"job {job.job_id} did not finish")


def test_a_refused_token_is_refreshed_exactly_once_then_reported_as_auth(
    simulator: Simulator, upstream: Upstream
) -> None:
    conn, tokens = connect(simulator, upstream)
    job = conn.start_job()
    simulator.inject(upstream.status_route, status=401, count=2)

    with pytest.raises(UpstreamError) as caught:
        conn.check_job(job)

    assert caught.value.kind is ErrorKind.AUTH
    assert tokens.forced == 1
    assert [r.status for r in simulator.stats.requests_for(upstream.status_route)] == [401, 401]
    assert "refused again after fetching a fresh token" in caught.value.message
    assert not any(token in str(caught.value) for token in tokens.issued)


def test_a_token_refused_once_is_refreshed_and_the_call_succeeds(simulator: Simulator, upstream: Upstream) -> None:
    conn, tokens = connect(simulator, upstream)
    job = conn.start_job()
    simulator.inject(upstream.status_route, status=401)

    assert conn.check_job(job).job_id == job.job_id
    assert tokens.forced == 1
    assert [r.status for r in simulator.stats.requests_for(upstream.status_route)][:1] == [401]
    assert simulator.stats.requests_for(upstream.status_route)[1].status in (200, 202)


@pytest.mark.parametrize(("status", "retry_after", "expected"), [(429, "7", 7.0), (503, None, None)])
def test_throttling_and_server_errors_are_transient_with_the_server_wait(
    simulator: Simulator, upstream: Upstream, status: int, retry_after: str | None, expected: float | None
) -> None:
    conn, _ = connect(simulator, upstream)
    simulator.inject(upstream.create_route, status=status, retry_after=retry_after)

    with pytest.raises(UpstreamError) as caught:
        conn.start_job()

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.status_code == status
    assert caught.value.retry_after_s == expected


def test_an_error_body_echoing_the_token_reaches_no_message(simulator: Simulator, upstream: Upstream) -> None:
    conn, tokens = connect(simulator, upstream)
    job = conn.start_job()
    sent = tokens.issued[-1]
    echo = f"header was 'Authorization: Bearer {sent}', token {sent}, claims {FIXTURE_JWT}"
    simulator.inject(upstream.status_route, status=400, body=upstream.envelope(echo))

    with pytest.raises(UpstreamError) as caught:
        conn.check_job(job)

    text = f"{caught.value} {caught.value.to_dict()}"
    assert sent not in text
    assert "eyJhbGci" not in text
    assert REDACTED in caught.value.message
    assert caught.value.kind is ErrorKind.PERMANENT


# An API whose job is the Location URL it answered (cost details) builds no request from a job id: the
# server-given URL rules cover what it is sent instead (tests/connectors/test_server_given_locations.py).
JOB_ID_IN_PATH = [upstream for upstream in UPSTREAMS if upstream.job_in_path]


@pytest.mark.parametrize("upstream", JOB_ID_IN_PATH, ids=lambda upstream: upstream.name)
@pytest.mark.parametrize("job_id", ["..", "a/../../b", "x?$select=id"])
def test_a_hostile_job_id_is_requested_as_one_escaped_segment(
    simulator: Simulator, upstream: Upstream, job_id: str
) -> None:
    conn, _ = connect(simulator, upstream)

    with pytest.raises(UpstreamError) as caught:
        conn.check_job(JobStatus(job_id, JobState.RUNNING, ""))

    assert caught.value.kind is ErrorKind.PERMANENT  # the simulator does not know the job
    [request] = simulator.stats.requests_for(upstream.status_route)
    assert request.path.split("?")[0].endswith(upstream.job_path + path_segment(job_id))


def test_content_after_the_result_expired_is_reported_as_expired(simulator: Simulator, upstream: Upstream) -> None:
    conn, _ = connect(simulator, upstream)
    done = finished(conn)
    simulator.expire(done.job_id)

    with pytest.raises(UpstreamError) as caught, conn.open_content(done):
        pass

    assert caught.value.kind is ErrorKind.EXPIRED
