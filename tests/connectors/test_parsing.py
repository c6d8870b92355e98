"""Parsers of outside input: Retry-After, timestamps, error envelopes, Explorer URLs, parameters."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors.base import UpstreamError
from connectors.envelopes import parse_graph_error, parse_sailpoint_error
from connectors.registry import parse_params
from connectors.retry_after import parse_retry_after
from connectors.sailpoint import SailPointConnector, SailPointParams
from connectors.timestamps import normalise_timestamp
from connectors.urls import check_base_url, check_download_url, same_origin
from connectors.viva_goals import VivaGoalsParams, location_job_id, parse_explorer_view_url

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
ORG = "94a356ab-53d5-40e7-8a85-053d6d3b9eb3"
VIEW = "e5e7a3c1-8cdf-409d-9ce9-ff730d65d95e"


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("60", NOW) == 60


def test_retry_after_as_http_date_is_relative_to_now() -> None:
    assert parse_retry_after("Sun, 22 Nov 2026 12:01:30 GMT", NOW) == 90


def test_retry_after_in_the_past_means_no_wait() -> None:
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", NOW) == 0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e3x", "Mon, 99 Foo 2026"])
def test_unreadable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


@given(st.text())
def test_retry_after_parser_never_crashes(value: str) -> None:
    result = parse_retry_after(value, NOW)
    assert result is None or 0 <= result <= 24 * 3600


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-06-19T12-06-03.0024Z", "2023-06-19T12:06:03.002400Z"),
        ("2023-11-06T05:46:07.985Z", "2023-11-06T05:46:07.985000Z"),
        ("2021-05-11T22:23:16Z", "2021-05-11T22:23:16Z"),
        ("2021-05-13T15:04:24.1234567+02:00", "2021-05-13T13:04:24.123456Z"),
    ],
)
def test_both_documented_timestamp_forms_parse_to_utc(text: str, expected: str) -> None:
    assert normalise_timestamp(text) == expected


@given(st.one_of(st.text(), st.integers(), st.none()))
def test_timestamp_parser_never_crashes(value: object) -> None:
    assert normalise_timestamp(value) is None or normalise_timestamp(value).endswith("Z")  # type: ignore[union-attr]


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


def test_explorer_view_url_gives_both_ids() -> None:
    url = f"https://goals.microsoft.com/org_uuid/{ORG}/objective-explorer?viewId={VIEW}"
    assert parse_explorer_view_url(url) == (ORG, VIEW)
    assert VivaGoalsParams(explorer_view_url=url).goals_organization_id == ORG


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"goals_organization_id": "not-a-guid", "explorer_view_id": VIEW},
        {"explorer_view_url": "https://goals.microsoft.com/objective-explorer"},
        {"explorer_view_url": f"https://goals.microsoft.com/org_uuid/{ORG}/objective-explorer"},
        {"explorer_view_url": "x", "goals_organization_id": ORG},
    ],
)
def test_viva_goals_params_reject_anything_else_saying_what_was_expected(params: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="expected goals_organization_id and explorer_view_id"):
        VivaGoalsParams(**params)


@given(st.text())
def test_explorer_url_parser_only_raises_value_error(url: str) -> None:
    with contextlib.suppress(ValueError):
        parse_explorer_view_url(url)


def test_unknown_sailpoint_types_are_rejected_before_any_request() -> None:
    with pytest.raises(ValidationError, match=r"unknown SP-Config type.*WORKFLOWS"):
        SailPointParams(include_types=["RULE", "WORKFLOWS"])
    assert SailPointParams(include_types=["RULE"]).request_body() == {"includeTypes": ["RULE"]}


def test_unknown_connector_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="sailpoint, viva_goals"):
        parse_params("salesforce", {})


def test_quoted_location_header_still_names_the_job() -> None:
    assert location_job_id('"https://graph.microsoft.com/beta/x/exportJobs/j!abc"') == "j!abc"


def test_base_url_must_be_https_except_on_loopback() -> None:
    assert check_base_url("http://127.0.0.1:8080/beta/") == "http://127.0.0.1:8080/beta"
    with pytest.raises(ValueError, match="https"):
        check_base_url("http://graph.example.com/beta")


def test_token_goes_only_to_the_api_origin() -> None:
    api = "https://graph.microsoft.com/beta"
    assert same_origin("https://graph.microsoft.com:443/beta/x", api)
    assert not same_origin("https://storage.example.net/file?sig=1", api)
    assert not same_origin("http://graph.microsoft.com/beta/x", api)


def test_download_location_must_be_https_unless_loopback() -> None:
    assert check_download_url("http://127.0.0.1:9/x") == "http://127.0.0.1:9/x"
    with pytest.raises(UpstreamError, match="plain http"):
        check_download_url("http://storage.example.net/file")
    with pytest.raises(UpstreamError, match="credentials"):
        check_download_url("https://user:pw@storage.example.net/file")


def test_sailpoint_token_url_defaults_to_the_tenant_origin() -> None:
    assert (
        SailPointConnector.token_endpoint.url_for("https://acme.api.identitynow.com/v2025")
        == "https://acme.api.identitynow.com/oauth/token"
    )
    assert (
        SailPointConnector.token_endpoint.url_for("http://127.0.0.1:9000/beta") == "http://127.0.0.1:9000/oauth/token"
    )
