"""Credentials echoed back in other forms: blanked in every encoding, and refused inside job ids and locations.

A text the upstream sends is redacted on percent-decoded, case-insensitive forms of every credential in play
(lower- or upper-case hex, form encoding with `+`, double encoding, base64 at any alignment); a job id or a
download location that carries the bearer token sent is refused outright, as it would be stored in manifests,
latest.json, histories, events and the CLI summary.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest

from connectors.http.envelopes import parse_sailpoint_error
from credentials.client_credentials import ClientCredentialsTokenProvider
from kernel.errors import ErrorKind, UpstreamError
from kernel.redaction import REDACTED, holds_secret, redact
from tests.connectors.hostile import FIXTURE_TOKEN, sailpoint, viva
from tests.support.hostile_upstream import GRAPH, Reply, Request, graph_job, hostile_upstream

FIXTURE_SECRET = "hostile Client/secret+value=42~"  # a test fixture, not a credential: spaces and reserved marks


def lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), text)


FORMS: dict[str, Callable[[str], str]] = {
    "as-is": lambda s: s,
    "upper-case": str.upper,
    "lower-case": str.lower,
    "percent-encoded": lambda s: quote(s, safe=""),
    "percent-encoded-lower-hex": lambda s: lower_hex(quote(s, safe="")),
    "form-encoded": quote_plus,
    "form-encoded-lower-hex": lambda s: lower_hex(quote_plus(s)),
    "double-encoded": lambda s: quote(quote(s, safe=""), safe=""),
    "every-character-encoded": lambda s: "".join(f"%{b:02x}" for b in s.encode()),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64-url": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "base64-after-a-prefix": lambda s: base64.b64encode(b"client-1:" + s.encode()).decode(),
    "base64-after-two-bytes": lambda s: base64.b64encode(b"ab" + s.encode()).decode(),
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("secret", [FIXTURE_SECRET, FIXTURE_TOKEN])
def test_a_secret_echoed_in_any_encoding_is_redacted(form: str, secret: str) -> None:
    echoed = FORMS[form](secret)
    text = f"could not check client_secret={echoed}&grant_type=client_credentials"
    cleaned = redact(text, secret)
    assert REDACTED in cleaned
    assert echoed not in cleaned
    assert "grant_type=client_credentials" in cleaned  # only the secret goes
    assert holds_secret(text, secret)


def test_text_without_the_secret_is_left_alone() -> None:
    text = "job j!eyJfdHlwZSI6IkV4cG9ydEpvYiJ9 failed at 2026-01-01 (see %2F docs+faq)"
    assert redact(text, FIXTURE_SECRET, FIXTURE_TOKEN) == text
    assert not holds_secret(text, FIXTURE_SECRET, FIXTURE_TOKEN, None, "")


@pytest.mark.parametrize("form", ["percent-encoded-lower-hex", "form-encoded", "double-encoded", "upper-case"])
def test_a_token_endpoint_error_echoing_the_client_secret_encoded_is_redacted(form: str) -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(503, {"error": "server_error", "error_description": f"bad secret {FORMS[form](FIXTURE_SECRET)}"})

    with hostile_upstream(scenario) as upstream:
        tokens = ClientCredentialsTokenProvider(
            f"{upstream.url}/oauth/token", "client-1", FIXTURE_SECRET, parse_sailpoint_error
        )
        with pytest.raises(UpstreamError) as caught:
            tokens.get_token()
    assert FORMS[form](FIXTURE_SECRET) not in str(caught.value.to_dict())
    assert REDACTED in caught.value.message


def assert_refused_without_the_secret(
    caught: pytest.ExceptionInfo[UpstreamError], what: str, says: str = "holds the credential sent to it"
) -> None:
    assert caught.value.kind is ErrorKind.PERMANENT
    assert what in caught.value.message
    assert says in caught.value.message
    shown = str(caught.value.to_dict()).lower()
    for form in FORMS.values():
        assert form(FIXTURE_TOKEN).lower() not in shown


@pytest.mark.parametrize("form", ["as-is", "percent-encoded-lower-hex", "upper-case", "double-encoded", "base64"])
def test_a_job_id_holding_the_bearer_token_is_refused(form: str) -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(200, graph_job(f"j!{FORMS[form](request.bearer)}"))

    with hostile_upstream(scenario) as upstream:
        with pytest.raises(UpstreamError) as created:
            viva(upstream).start_job()
        with pytest.raises(UpstreamError) as polled:
            viva(upstream).get_job("job-1")
    assert_refused_without_the_secret(created, "job id")
    assert_refused_without_the_secret(polled, "job id")


def test_a_sailpoint_job_id_holding_the_bearer_token_is_refused() -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(200, {"jobId": f"sp-{request.bearer}", "status": "IN_PROGRESS"})

    with hostile_upstream(scenario) as upstream, pytest.raises(UpstreamError) as caught:
        sailpoint(upstream).get_job("sp-1")
    assert_refused_without_the_secret(caught, "job id")


@pytest.mark.parametrize("where", ["target", "location"])
def test_a_409_naming_a_job_id_that_holds_the_bearer_token_is_refused(where: str) -> None:
    def scenario(request: Request, reply: Reply) -> None:
        running = f"j!{request.bearer}"
        error = {"code": "notAllowed", "message": "busy", **({"target": running} if where == "target" else {})}
        location = {"Location": f"http://127.0.0.1:1{GRAPH}/{quote(running, safe='')}"} if where == "location" else {}
        reply.json(409, {"error": error}, location)

    with hostile_upstream(scenario) as upstream, pytest.raises(UpstreamError) as caught:
        viva(upstream).start_job()
    # an error `target` holding a secret is dropped where the envelope is read: then there is no id to adopt
    says = "no running job id was given to adopt" if where == "target" else "holds the credential sent to it"
    assert_refused_without_the_secret(caught, "job id", says)
    assert caught.value.existing_job_id is None


@pytest.mark.parametrize(
    "shape", ["{url}/content?access_token={token}", "{url}/{token}/content", "{url}/content?t={encoded}"]
)
def test_a_download_location_holding_the_bearer_token_is_refused(shape: str) -> None:
    def scenario(request: Request, reply: Reply) -> None:
        location = shape.format(url=upstream.url, token=request.bearer, encoded=lower_hex(quote(request.bearer)))
        reply.json(200, graph_job(status="succeeded", resourceLocation=location))

    with hostile_upstream(scenario) as upstream, pytest.raises(UpstreamError) as caught:
        viva(upstream).get_job("job-1")
    assert_refused_without_the_secret(caught, "download location")
