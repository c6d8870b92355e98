"""What a target may ask each connector for, checked before any request: Explorer views, SP-Config types."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors.registry import parse_params
from connectors.spec.hooks import explorer_view_url
from credentials.static_token import StaticTokenProvider
from tests.support.connectors import sailpoint_connector
from tests.support.targets import ORG, VIEW


def parse_explorer_view_url(url: str) -> tuple[str, str]:
    """(goalsOrganizationId, explorerViewId) from an Explorer view URL, by the spec's named transform."""
    ids = explorer_view_url({"explorer_view_url": url})
    return ids["goals_organization_id"], ids["explorer_view_id"]


def test_explorer_view_url_gives_both_ids() -> None:
    url = f"https://goals.microsoft.com/org_uuid/{ORG}/objective-explorer?viewId={VIEW}"
    assert parse_explorer_view_url(url) == (ORG, VIEW)
    assert parse_params("viva_goals", {"explorer_view_url": url})["goals_organization_id"] == ORG


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
        parse_params("viva_goals", params)


@given(st.text())
def test_explorer_url_parser_only_raises_value_error(url: str) -> None:
    with contextlib.suppress(ValueError):
        parse_explorer_view_url(url)


def test_unknown_sailpoint_types_are_rejected_before_any_request() -> None:
    with pytest.raises(ValidationError, match=r"unknown SP-Config type.*WORKFLOWS"):
        parse_params("sailpoint", {"include_types": ["RULE", "WORKFLOWS"]})
    tokens = StaticTokenProvider("T", {"T": "x"})
    connector = sailpoint_connector("https://acme.api.identitynow.com/v2025", tokens, {"include_types": ["RULE"]})
    assert connector.plan(connector.spec.create.request).body == {"includeTypes": ["RULE"]}


def test_unknown_connector_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown connector 'salesforce'; known: ") as raised:
        parse_params("salesforce", {})
    for known in ("viva_goals", "sailpoint", "sailpoint_sp_config", "salesforce_bulk_query", "cost_details_report"):
        assert known in str(raised.value)
