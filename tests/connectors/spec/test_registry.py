"""Targets name a spec by its name or an alias; the answers match what the class registry gives today."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from connectors.registry import connector_type, parse_params
from connectors.spec.registry import check_auth_kind, parse_spec_params, spec_for, spec_token_endpoint
from tests.support.targets import ORG, VIEW

VIEW_URL = f"https://goals.microsoft.com/org_uuid/{ORG}/objective-explorer?viewId={VIEW}"


@pytest.mark.parametrize(("connector", "spec"), [("viva_goals", "viva_goals"), ("sailpoint", "sailpoint_sp_config")])
def test_the_connector_names_targets_use_today_name_the_seed_specs(connector: str, spec: str) -> None:
    assert spec_for(connector).name == spec
    assert spec_token_endpoint(connector).path == connector_type(connector).token_endpoint.path


@pytest.mark.parametrize(
    ("connector", "params"),
    [
        ("viva_goals", {"explorer_view_url": VIEW_URL}),
        ("viva_goals", {"goals_organization_id": ORG.upper(), "explorer_view_id": VIEW}),
        ("sailpoint", {"include_types": ["RULE"], "description": "nightly"}),
    ],
)
def test_params_normalise_as_the_classes_do(connector: str, params: dict[str, object]) -> None:
    by_class = parse_params(connector, params).model_dump(mode="json", exclude_none=True)
    by_spec = parse_spec_params(connector, params)

    assert {k: v for k, v in by_class.items() if v not in ([], {})} == by_spec


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
def test_params_the_classes_refuse_the_specs_refuse(connector: str, params: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_params(connector, params)
    with pytest.raises(ValidationError):
        parse_spec_params(connector, params)


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
        by_class = parse_params(target["connector"], target["params"]).model_dump(mode="json", exclude_none=True)
        assert parse_spec_params(target["connector"], target["params"]) == {
            k: v for k, v in by_class.items() if v not in ([], {})
        }
        check_auth_kind(target["connector"], target["auth"]["kind"])
