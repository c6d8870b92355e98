"""OAuth client credentials know no upstream: the endpoint's errors are read by the parser the caller gives."""

from __future__ import annotations

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
