"""OAuth client credentials know no upstream: the endpoint's errors are read by the parser the caller gives."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from connectors.http.envelopes import parse_graph_error
from credentials.client_credentials import ClientCredentialsTokenProvider
from kernel.errors import ErrorKind, UpstreamError
from tests.support.hostile_upstream import Reply, Request, hostile_upstream


def test_a_token_endpoint_error_is_read_in_the_envelope_of_the_given_parser() -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(503, {"error": {"code": "serviceBusy", "message": "the token service is busy"}})

    with hostile_upstream(scenario) as upstream:
        tokens = ClientCredentialsTokenProvider(f"{upstream.url}/token", "client-1", "secret-1", parse_graph_error)
        with pytest.raises(UpstreamError) as caught:
            tokens.get_token()

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.message == "token endpoint: the token service is busy"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [("https://management.azure.com/.default", ["https://management.azure.com/.default"]), (None, None)],
)
def test_the_scope_an_auth_profile_names_is_asked_for_and_none_is_sent_without_one(
    scope: str | None, expected: list[str] | None
) -> None:
    forms: list[dict[str, list[str]]] = []

    def scenario(request: Request, reply: Reply) -> None:
        forms.append(parse_qs(request.body.decode()))
        reply.json(200, {"access_token": "t-1", "expires_in": 3600, "instance_url": "https://x.my.salesforce.com"})

    with hostile_upstream(scenario) as upstream:
        tokens = ClientCredentialsTokenProvider(f"{upstream.url}/token", "c", "s", parse_graph_error, scope=scope)
        assert tokens.get_token() == "t-1"

    assert forms[0].get("scope") == expected
    assert tokens.instance_url == "https://x.my.salesforce.com"  # kept unchecked: the connector checks it
