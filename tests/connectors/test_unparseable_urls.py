"""A URL that cannot be parsed or resolved as written is a permanent error wherever it enters: a status body's
location, a redirect hop, a Location header, a request about to be sent. No retry can make it parse, so it must
never surface as an unclassified exception (which the orchestrator retries as transient)."""

from __future__ import annotations

import pytest

from connectors.base import JobState, JobStatus
from connectors.http.transport import HttpSettings, fetch
from connectors.http.urls import check_base_url, check_download_url
from connectors.spec.engine import location_job_id
from kernel.errors import ErrorKind, UpstreamError
from tests.connectors.hostile import viva
from tests.support.hostile_upstream import Reply, Request, Scenario, graph_job, hostile_upstream

UNPARSEABLE = [
    "https://xn--/x",  # an A-label with no punycode content
    "https://xn--a.example/x",  # an A-label that does not decode
    "https://" + "a" * 70 + ".example/x",  # a label over 63 characters
    "https://" + ("a" * 60 + ".") * 5 + "example/x",  # a name over 253 characters
    "https://a..b/x",  # an empty label
    "https://\u2603\u200d.example/x",  # a joiner IDNA refuses
    "https://files.example:99999/x",  # a port out of range
    "https://files.example:x/x",  # a port that is no number
    "http://[::1/x",  # an unclosed IPv6 bracket
    "https://[zz]/x",  # brackets around no address
    "https://0177.0.0.1/x",  # a numeric host the HTTP client cannot send to
]


def permanent(call: object) -> UpstreamError:
    with pytest.raises(UpstreamError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.kind is ErrorKind.PERMANENT
    return caught.value


@pytest.mark.parametrize("url", UNPARSEABLE)
def test_an_unparseable_download_location_is_permanent(url: str) -> None:
    permanent(lambda: check_download_url(url))


@pytest.mark.parametrize("url", UNPARSEABLE)
def test_an_unparseable_base_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        check_base_url(url)


@pytest.mark.parametrize("url", UNPARSEABLE)
def test_an_unparseable_resource_location_in_a_status_body_is_permanent(url: str) -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(200, graph_job(status="succeeded", resourceLocation=url))

    with hostile_upstream(scenario) as upstream:
        permanent(lambda: viva(upstream).get_job("job-1"))


@pytest.mark.parametrize("url", UNPARSEABLE)
def test_an_unparseable_recorded_download_location_is_permanent_before_any_request(url: str) -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(200, {})

    with hostile_upstream(scenario) as upstream:
        job = JobStatus("job-1", JobState.SUCCEEDED, "succeeded", download_url=url)

        def opening() -> None:
            with viva(upstream).open_content(job):
                pass

        permanent(opening)
    assert upstream.requests == []


def redirecting_to(location: str) -> Scenario:
    def scenario(request: Request, reply: Reply) -> None:
        reply.head(302, {"Location": location, "Content-Length": "0"})

    return scenario


@pytest.mark.parametrize("url", UNPARSEABLE)
def test_an_unparseable_redirect_hop_is_permanent(url: str) -> None:
    with hostile_upstream(redirecting_to(url)) as upstream:
        job = JobStatus("job-1", JobState.SUCCEEDED, "succeeded", download_url=f"{upstream.url}/download")

        def opening() -> None:
            with viva(upstream).open_content(job):
                pass

        permanent(opening)
        assert len(upstream.requests) == 1


@pytest.mark.parametrize("location", ["http://[::1/x", '"https://[zz]/exportJobs/j"', "https://a]/x"])
def test_an_unparseable_location_header_on_create_leaves_the_bodys_job_id(location: str) -> None:
    assert location_job_id(location) is None

    def scenario(request: Request, reply: Reply) -> None:
        reply.json(201, graph_job("job-7"), headers={"Location": location})

    with hostile_upstream(scenario) as upstream:
        assert viva(upstream).start_job().job_id == "job-7"


@pytest.mark.parametrize("url", ["https://xn--/x", "https://\u2603\u200d.example/x", "https://files.example:x/x"])
def test_a_request_the_http_client_cannot_build_is_permanent(url: str) -> None:
    settings = HttpSettings(trust_env=False)
    error = permanent(lambda: fetch(settings.client(), settings, "GET", url))
    assert "cannot be parsed" in error.message
