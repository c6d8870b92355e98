"""Targets name a spec by its name or an alias; its params, credential needs and auth kinds come from the spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from connectors.http.envelopes import parse_graph_error, parse_sailpoint_error
from connectors.registry import check_auth_kind, default_scopes, parse_params, spec_for, token_endpoint
from tests.support.targets import ORG, VIEW

VIEW_URL = f"https://goals.microsoft.com/org_uuid/{ORG}/objective-explorer?viewId={VIEW}"


@pytest.mark.parametrize(
    ("connector", "spec", "token_path", "parser"),
    [
        ("viva_goals", "viva_goals", None, parse_graph_error),
        ("sailpoint", "sailpoint_sp_config", "/oauth/token", parse_sailpoint_error),
        ("sailpoint_sp_config", "sailpoint_sp_config", "/oauth/token", parse_sailpoint_error),
    ],
)
def test_the_connector_names_targets_use_name_the_seed_specs(
    connector: str, spec: str, token_path: str | None, parser: object
) -> None:
    assert spec_for(connector).name == spec
    assert token_endpoint(connector).path == token_path
    assert token_endpoint(connector).parse_error is parser


def test_the_graph_scope_comes_from_the_viva_goals_spec_only() -> None:
    assert default_scopes("viva_goals") == ("https://graph.microsoft.com/Goals-Export.ReadWrite.All",)
    assert default_scopes("sailpoint") == ()


@pytest.mark.parametrize(
    ("connector", "params", "normalised"),
    [
        ("viva_goals", {"explorer_view_url": VIEW_URL}, {"goals_organization_id": ORG, "explorer_view_id": VIEW}),
        (
            "viva_goals",
            {"goals_organization_id": ORG.upper(), "explorer_view_id": VIEW},
            {"goals_organization_id": ORG, "explorer_view_id": VIEW},
        ),
        (
            "sailpoint",
            {"include_types": ["RULE"], "description": "nightly"},
            {"include_types": ["RULE"], "description": "nightly"},
        ),
        (
            "sailpoint",
            {"object_options": {"RULE": {}}},
            {"object_options": {"RULE": {"included_ids": [], "included_names": []}}},
        ),
    ],
)
def test_params_are_normalised(connector: str, params: dict[str, object], normalised: dict[str, object]) -> None:
    assert parse_params(connector, params) == normalised


@pytest.mark.parametrize(
    ("connector", "params"),
    [
        ("viva_goals", {"explorer_view_url": "https://goals.microsoft.com/nothing"}),
        ("viva_goals", {"goals_organization_id": ORG}),
        ("viva_goals", {"explorer_view_url": VIEW_URL, "explorer_view_id": VIEW}),
        ("sailpoint", {"include_types": ["NOT_A_TYPE"]}),
        ("sailpoint", {"object_options": {"NOT_A_TYPE": {}}}),
        ("sailpoint", {"description": "x" * 1001}),
        ("sailpoint", {"colour": "red"}),
    ],
)
def test_params_the_specs_refuse(connector: str, params: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_params(connector, params)


def test_an_unknown_connector_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown connector 'nope'; known: cost_details_report, .*sailpoint, "):
        spec_for("nope")


def test_a_credential_kind_the_auth_profile_does_not_take_is_refused() -> None:
    check_auth_kind("viva_goals", "msal_token_cache")
    check_auth_kind("sailpoint", "client_credentials_env")

    with pytest.raises(
        ValueError, match="takes auth kind bearer_env or msal_token_cache, not 'client_credentials_env'"
    ):
        check_auth_kind("viva_goals", "client_credentials_env")


def test_every_target_of_the_example_targets_file_is_accepted_by_its_spec() -> None:
    document = yaml.safe_load((Path(__file__).resolve().parents[3] / "targets.example.yaml").read_text())

    for target in document["targets"]:
        parse_params(target["connector"], target["params"])
        check_auth_kind(target["connector"], target["auth"]["kind"])
