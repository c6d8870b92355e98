"""Which provider a token cache target gets in a process, and the target settings it is built from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.credential_interface import TokenEndpoint
from connectors.http.envelopes import parse_sailpoint_error
from connectors.registry import token_endpoint
from connectors.spec.loader import BUILT_IN as BUILT_IN_SPECS
from connectors.spec.loader import SPECS_DIR_SETTING
from credentials.client_credentials import ClientCredentialsTokenProvider
from credentials.delegated import DelegatedTokenProvider
from credentials.selection import token_provider_for
from kernel.errors import ConfigurationError, ErrorKind
from targets import TargetsError, parse_targets
from targets.model import MsalTokenCache
from tests.credentials.signed_in import goals_target, target_document
from tests.support.identity_provider import AUTHORITY_HOST, CLIENT_ID, SCOPE, TENANT

ENDPOINT = token_endpoint("viva_goals")


def test_a_token_cache_target_gets_defaults_and_a_cache_blob_named_after_it() -> None:
    auth = goals_target(None).to_input()["auth"]

    assert auth == {
        "kind": "msal_token_cache",
        "client_id": CLIENT_ID,
        "tenant_id": TENANT,
        "authority_host": AUTHORITY_HOST,
        "scopes": [SCOPE],
        "cache_blob": "token-caches/goals.json",
    }
    defaults = parse_targets(
        {
            "targets": [
                target_document(None)
                | {"auth": {"kind": "msal_token_cache", "client_id": CLIENT_ID, "tenant_id": "contoso.onmicrosoft.com"}}
            ]
        }
    )["goals"]
    assert isinstance(defaults.auth, MsalTokenCache)
    assert defaults.auth.authority_host == "https://login.microsoftonline.com"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client_id": "my-app"}, "auth.msal_token_cache.client_id"),
        ({"authority_host": "http://login.microsoftonline.com"}, "authority_host must be an https origin"),
        ({"authority_host": "https://login.microsoftonline.com/common"}, "authority_host must be an https origin"),
        ({"scopes": [SCOPE, "offline_access"]}, "must not list offline_access"),
        ({"scopes": []}, "non-empty list"),
        ({"cache_blob": "token-caches"}, "cache_blob must be '<container>/<blob name>'"),
        ({"cache_blob": "token-caches/../exports/x.json"}, "cache_blob must be"),
        ({"cache_blob": "Token_Caches/goals.json"}, "cache_blob must be"),
        ({"token": "abc"}, "auth.msal_token_cache.token"),
    ],
)
def test_a_token_cache_target_with_a_mistake_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    document = target_document(None)
    document["auth"] |= change

    with pytest.raises(TargetsError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_targets({"targets": [document]})


def test_a_token_cache_targets_scopes_come_from_its_spec_unless_it_lists_its_own() -> None:
    assert goals_target(None).to_input()["auth"]["scopes"] == [SCOPE]  # the viva_goals spec's auth.scopes
    assert goals_target(None, scopes=["api://other/.default"]).to_input()["auth"]["scopes"] == ["api://other/.default"]


def test_a_token_cache_target_of_a_spec_without_scopes_must_list_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = yaml.safe_load((BUILT_IN_SPECS / "viva_goals.yaml").read_text(encoding="utf-8"))
    spec["name"] = "delegated_api"  # a deployment's own spec for a delegated-only API, naming no scopes
    spec.pop("aliases", None)
    spec["auth"].pop("scopes", None)
    (tmp_path / "delegated_api.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    monkeypatch.setenv(SPECS_DIR_SETTING, str(tmp_path))
    document = target_document(None) | {"connector": "delegated_api"}

    with pytest.raises(TargetsError, match="connector 'delegated_api' names no default scopes; list the scopes"):
        parse_targets({"targets": [document]})
    scoped = document | {"auth": document["auth"] | {"scopes": ["api://sp/.default"]}}
    assert parse_targets({"targets": [scoped]})["goals"].to_input()["auth"]["scopes"] == ["api://sp/.default"]


def test_token_provider_for_builds_one_delegated_provider_per_target_in_a_process(
    storage_connection_string: str, cache_blob: str
) -> None:
    env = {"EXPORTS_STORAGE_CONNECTION_STRING": storage_connection_string, "EXPORTS_CONTAINER": "exports"}
    target = goals_target(cache_blob).to_input()

    provider = token_provider_for(target, ENDPOINT, env)

    assert isinstance(provider, DelegatedTokenProvider)
    assert token_provider_for(target, ENDPOINT, env) is provider
    assert (provider.authority, provider.client_id, provider.scopes) == (
        f"{AUTHORITY_HOST}/{TENANT}",
        CLIENT_ID,
        [SCOPE],
    )
    assert provider.cache.ref == cache_blob


def test_token_provider_for_refuses_a_cache_blob_in_the_exports_container(storage_connection_string: str) -> None:
    env = {"EXPORTS_STORAGE_CONNECTION_STRING": storage_connection_string, "EXPORTS_CONTAINER": "goals-exports"}

    with pytest.raises(ConfigurationError) as caught:
        token_provider_for(goals_target("goals-exports/goals.json").to_input(), ENDPOINT, env)

    assert caught.value.kind is ErrorKind.PERMANENT
    assert "is in the exports container" in caught.value.message


def test_client_credentials_without_a_token_url_for_an_api_without_a_default_endpoint_are_refused() -> None:
    target = goals_target(None).to_input()
    target["auth"] = {"kind": "client_credentials_env", "client_id_env": "ID", "client_secret_env": "SECRET"}

    with pytest.raises(ConfigurationError) as caught:
        token_provider_for(target, ENDPOINT, {"ID": "client-1", "SECRET": "secret-1"})

    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.message == (
        "target 'goals': connector 'viva_goals' has no default OAuth token endpoint; set auth.token_url"
    )


def test_client_credentials_take_the_connectors_default_token_endpoint() -> None:
    target = goals_target(None).to_input()
    target["auth"] = {"kind": "client_credentials_env", "client_id_env": "ID", "client_secret_env": "SECRET"}
    endpoint = TokenEndpoint("/oauth/token", parse_sailpoint_error)

    provider = token_provider_for(target, endpoint, {"ID": "client-1", "SECRET": "secret-1"})

    assert isinstance(provider, ClientCredentialsTokenProvider)
    assert provider.token_url == "https://graph.microsoft.com/oauth/token"
