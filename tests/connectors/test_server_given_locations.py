"""A location an upstream gives (a status body's resourceLocation, a redirect hop) cannot reach this machine or a
private network: the loopback switch applies to it exactly as to configured URLs, and the address it resolves to
is checked when the connection opens.

The attack: an upstream names, as its export's location, an internal service on this machine that answers a
password. With EXPORTS_ALLOW_LOOPBACK_UPSTREAMS off, nothing may be fetched from it (so nothing can be stored or
announced), the refusal is permanent and says why, and no token is in it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import httpx
import pytest

from connectors.base import JobState, JobStatus
from connectors.http.addresses import ALLOW_LOOPBACK, ALLOW_PRIVATE, IPAddress
from connectors.http.api_client import ApiClient
from connectors.http.connect_guard import guard_connections, server_given
from connectors.http.envelopes import parse_graph_error
from connectors.http.transport import HttpSettings
from credentials.static_token import StaticTokenProvider
from kernel.errors import ErrorKind, UpstreamError
from tests.connectors.hostile import FIXTURE_TOKEN, viva
from tests.support.hostile_upstream import HostileUpstream, Reply, Request, Scenario, graph_job, hostile_upstream

PASSWORD = b"internal-service-password"


def internal_service(request: Request, reply: Reply) -> None:
    reply.head(200, {"Content-Type": "text/plain", "Content-Length": str(len(PASSWORD))})
    reply.write(PASSWORD)


@pytest.fixture
def internal() -> Iterator[HostileUpstream]:
    """A service on this machine, apart from the upstream, that must never be reached from a server-given URL."""
    with hostile_upstream(internal_service) as service:
        yield service


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_LOOPBACK, "false")


def pointing_at(location: str) -> Scenario:
    """An upstream whose finished job's resourceLocation is `location`."""

    def scenario(request: Request, reply: Reply) -> None:
        reply.json(200, graph_job(status="succeeded", resourceLocation=location))

    return scenario


def redirecting_to(location: str) -> Scenario:
    """An upstream whose download answers 302 to `location`."""

    def scenario(request: Request, reply: Reply) -> None:
        reply.head(302, {"Location": location, "Content-Length": "0"})

    return scenario


def download(upstream: HostileUpstream, job: JobStatus) -> bytes:
    with viva(upstream).open_content(job) as stream:
        return b"".join(stream.iter_bytes())


def refused(upstream: HostileUpstream, job: JobStatus | None = None) -> UpstreamError:
    """The refusal of a download; without `job`, of polling "job-1" and downloading its result (the spec
    connector refuses a result location it may not fetch as soon as the finished job names it)."""
    with pytest.raises(UpstreamError) as caught:
        download(upstream, job or viva(upstream).get_job("job-1"))
    error = caught.value
    assert error.kind is ErrorKind.PERMANENT
    assert FIXTURE_TOKEN not in str(error.to_dict())
    return error


def test_a_resource_location_on_this_machine_is_not_fetched_with_loopback_off(
    production: None, internal: HostileUpstream
) -> None:
    with hostile_upstream(pointing_at(f"{internal.url}/secret")) as upstream:
        error = refused(upstream)
    assert ALLOW_LOOPBACK in error.message
    assert internal.requests == []


def test_a_resource_location_on_this_machine_is_fetched_when_local_development_allows_it(
    internal: HostileUpstream,
) -> None:
    with hostile_upstream(pointing_at(f"{internal.url}/secret")) as upstream:
        assert download(upstream, viva(upstream).get_job("job-1")) == PASSWORD
    assert "authorization" not in internal.requests[0].headers  # another origin never gets the token


def test_a_redirect_hop_to_this_machine_is_not_followed_with_loopback_off(
    production: None, internal: HostileUpstream
) -> None:
    with hostile_upstream(redirecting_to(f"{internal.url}/secret")) as upstream:
        job = JobStatus("job-1", JobState.SUCCEEDED, "succeeded", download_url=f"{upstream.url}/download")
        error = refused(upstream, job)
        assert len(upstream.requests) == 1  # the upstream's own download was asked for, the hop was refused
    assert ALLOW_LOOPBACK in error.message
    assert internal.requests == []


@pytest.mark.parametrize(
    "host",
    ["[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "localhost", "LOCALHOST.", "127.1", "2130706433", "0"],
)
def test_every_spelling_of_this_machine_in_a_redirect_is_refused_with_loopback_off(
    production: None, internal: HostileUpstream, host: str
) -> None:
    with hostile_upstream(redirecting_to(f"http://{host}:{internal.port}/secret")) as upstream:
        job = JobStatus("job-1", JobState.SUCCEEDED, "succeeded", download_url=f"{upstream.url}/download")
        error = refused(upstream, job)
    assert "loopback" in error.message
    assert internal.requests == []


@pytest.mark.parametrize(
    "location",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:169.254.169.254]/latest/meta-data/",
        "https://10.0.0.7/export",
        "https://172.16.0.1/export",
        "https://192.168.1.1/export",
        "https://100.64.0.1/export",
        "https://[fd00::1]/export",
        "https://[fe80::1]/export",
        "https://[::ffff:10.0.0.7]/export",
        "https://0.1.2.3/export",
        "https://224.0.0.1/export",
        "https://0xa000007/export",
    ],
)
def test_a_private_link_local_or_reserved_resource_location_is_refused(location: str) -> None:
    with hostile_upstream(pointing_at(location)) as upstream:
        error = refused(upstream)
    assert "refused" in error.message


def test_private_addresses_need_their_own_switch_and_metadata_is_refused_even_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE, "true")
    with hostile_upstream(pointing_at("https://169.254.169.254/latest/meta-data/")) as upstream:
        assert "link-local" in refused(upstream).message


def test_a_status_url_from_a_location_header_on_this_machine_is_not_requested_with_loopback_off(
    production: None, internal: HostileUpstream
) -> None:
    """Any request to a location an upstream named (a poll URL from a Location header, say) follows the rule."""

    def scenario(request: Request, reply: Reply) -> None:
        reply.json(202, {}, headers={"Location": f"{internal.url}/status"})

    with hostile_upstream(scenario) as upstream:
        settings = HttpSettings(trust_env=False)
        tokens = StaticTokenProvider("T", {"T": FIXTURE_TOKEN})
        api = ApiClient(upstream.graph_base_url, tokens, parse_graph_error, settings=settings, client=settings.client())
        location = api.request("POST", api.url("exportJobs")).headers["Location"]
        with pytest.raises(UpstreamError) as caught:
            api.request("GET", location)
    assert caught.value.kind is ErrorKind.PERMANENT
    assert ALLOW_LOOPBACK in caught.value.message
    assert FIXTURE_TOKEN not in str(caught.value.to_dict())
    assert internal.requests == []


def test_a_name_resolving_to_this_machine_is_refused_when_the_connection_opens(
    production: None, internal: HostileUpstream
) -> None:
    """`localhost` resolved by the system's own resolver, past the name check: the connect-time check holds."""
    client = HttpSettings(trust_env=False).client()
    with server_given(), pytest.raises(UpstreamError) as caught:
        client.get(f"http://localhost:{internal.port}/secret")
    assert caught.value.kind is ErrorKind.PERMANENT
    assert "resolves to" in caught.value.message
    assert internal.requests == []


def test_a_rebound_name_is_checked_and_connected_on_the_same_address(
    monkeypatch: pytest.MonkeyPatch, internal: HostileUpstream
) -> None:
    """A resolver that answers 127.0.0.1 for a public-looking name: refused with loopback off; with it on, the
    connection goes to exactly the address that was checked, and the request still names the host."""
    answers: list[str] = []

    def resolver(host: str, port: int) -> list[IPAddress]:
        answers.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    client = guard_connections(httpx.Client(trust_env=False), resolver)
    monkeypatch.setenv(ALLOW_LOOPBACK, "false")
    with server_given(), pytest.raises(UpstreamError, match=r"resolves to 127\.0\.0\.1"):
        client.get(f"http://files.example.test:{internal.port}/secret")
    assert internal.requests == []

    monkeypatch.setenv(ALLOW_LOOPBACK, "true")
    with server_given():
        assert client.get(f"http://files.example.test:{internal.port}/secret").content == PASSWORD
    assert internal.requests[0].headers["host"] == f"files.example.test:{internal.port}"
    assert answers == ["files.example.test", "files.example.test"]


def test_requests_to_the_configured_origin_are_not_checked_at_connect(production: None) -> None:
    """The loopback switch for configured URLs is applied when targets load; the API origin itself connects."""

    def scenario(request: Request, reply: Reply) -> None:
        reply.json(200, graph_job())

    with hostile_upstream(scenario) as upstream:
        assert viva(upstream).get_job("job-1").job_id == "job-1"
