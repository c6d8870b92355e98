"""Both upstreams' error envelopes, in every documented spelling, read without ever crashing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connectors.http.envelopes import parse_graph_error, parse_sailpoint_error


def test_graph_envelope_with_either_inner_error_spelling() -> None:
    lower = (
        b'{"error":{"code":"notAllowed","message":"busy","target":"j!1",'
        b'"innererror":{"code":"exportJobAlreadyExists"}}}'
    )
    camel = b'{"error":{"code":"notFound","message":"gone","innerError":{"code":"exportJobNotFound"}}}'
    assert parse_graph_error(lower, "x").code == "exportJobAlreadyExists"
    assert parse_graph_error(lower, "x").target == "j!1"
    assert parse_graph_error(camel, "x").message == "gone"


def test_sailpoint_envelopes_of_every_documented_shape() -> None:
    detailed = b'{"detailCode":"400.1 Bad Request Content","messages":[{"text":"bad types"}]}'
    assert parse_sailpoint_error(detailed, "x").message == "bad types"
    assert parse_sailpoint_error(b'{"error":"JWT validation failed: JWT is expired"}', "x").message.endswith("expired")
    assert parse_sailpoint_error(b'{"message": " Rate Limit Exceeded "}', "x").message == "Rate Limit Exceeded"


@given(st.binary())
def test_error_envelope_parsers_never_crash(body: bytes) -> None:
    assert parse_graph_error(body, "fallback").message
    assert parse_sailpoint_error(body, "fallback").message
