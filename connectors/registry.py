"""The connectors by the name a target gives (`connector: viva_goals`, or an alias such as `sailpoint`).

Every connector is a spec driven by the one `SpecConnector`: the built-in specs (`connectors/specs/`) and those of
the deployment's directory (`EXPORTS_CONNECTOR_SPECS_DIR`), read once per process. This module answers what the
rest of the app asks of a connector name: its spec, its params validator, what its credential needs (token
endpoint, error parser, the auth kinds and scopes of its auth profile), and a connector for a base URL and params.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.credential_interface import TokenEndpoint, TokenProvider
from connectors.spec import hooks
from connectors.spec.engine import SpecConnector, validate_params
from connectors.spec.loader import configured_specs
from connectors.spec.model import ConnectorSpec


def spec_for(connector: str, specs: Mapping[str, ConnectorSpec] | None = None) -> ConnectorSpec:
    """The spec a target's `connector` names (its name or an alias); ValueError naming the known ones."""
    known = configured_specs() if specs is None else specs
    for spec in known.values():
        if connector == spec.name or connector in spec.aliases:
            return spec
    names = sorted({name for spec in known.values() for name in (spec.name, *spec.aliases)})
    raise ValueError(f"unknown connector {connector!r}; known: {', '.join(names)}")


def parse_params(connector: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A target's params, validated and normalised by its spec (raises pydantic's ValidationError or ValueError)."""
    return validate_params(spec_for(connector), params)


def token_endpoint(connector: str) -> TokenEndpoint:
    """Where the connector's API exchanges client credentials for a token by default, and how its errors read."""
    spec = spec_for(connector)
    scope = hooks.AUTH_PROFILES[spec.auth.profile].scope  # Entra ID app-only: one resource per token
    return TokenEndpoint(spec.auth.token_path, hooks.ENVELOPES[spec.errors.envelope], scope)


def default_scopes(connector: str) -> tuple[str, ...]:
    """The delegated scopes the connector's spec asks for, when a target names none (may be empty)."""
    return tuple(spec_for(connector).auth.scopes)


def check_auth_kind(connector: str, kind: str) -> None:
    """ValueError when a target's credential kind is not one its spec's auth profile accepts."""
    spec = spec_for(connector)
    accepted = hooks.AUTH_PROFILES[spec.auth.profile].kinds
    if kind not in accepted:
        raise ValueError(
            f"connector {connector!r} (auth profile {spec.auth.profile}) takes auth kind "
            f"{' or '.join(sorted(accepted))}, not {kind!r}"
        )


def build_connector(
    connector: str,
    base_url: str,
    params: Mapping[str, Any],
    tokens: TokenProvider,
    *,
    client: httpx.Client | None = None,
    max_export_bytes: int | None = None,
) -> SpecConnector:
    """The connector for `base_url` (checked once, by the API client that sends the token there)."""
    return SpecConnector(
        spec_for(connector), base_url, params, tokens, client=client, max_export_bytes=max_export_bytes
    )
