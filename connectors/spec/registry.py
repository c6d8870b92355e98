"""The connector specs by the name a target gives (`connector: viva_goals`, or an alias such as `sailpoint`).

Why a module of its own: it is what `connectors.registry` becomes when the seed classes go. Its functions
answer the three questions the rest of the app asks of a connector name (the params validator, the credential's
token endpoint, and a connector for a base URL and params), so the swap is a change of import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.api_client import TokenProvider
from connectors.export_connector import TokenEndpoint
from connectors.spec import hooks
from connectors.spec.engine import SpecConnector, token_endpoint, validate_params
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


def parse_spec_params(connector: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A target's params, validated and normalised by its spec (raises pydantic's ValidationError or ValueError)."""
    return validate_params(spec_for(connector), params)


def spec_token_endpoint(connector: str) -> TokenEndpoint:
    return token_endpoint(spec_for(connector))


def check_auth_kind(connector: str, kind: str) -> None:
    """ValueError when a target's credential kind is not one its spec's auth profile accepts."""
    spec = spec_for(connector)
    accepted = hooks.AUTH_PROFILES[spec.auth.profile].kinds
    if kind not in accepted:
        raise ValueError(
            f"connector {connector!r} (auth profile {spec.auth.profile}) takes auth kind "
            f"{' or '.join(sorted(accepted))}, not {kind!r}"
        )


def build_spec_connector(
    connector: str,
    base_url: str,
    params: Mapping[str, Any],
    tokens: TokenProvider,
    *,
    client: httpx.Client | None = None,
    max_export_bytes: int | None = None,
) -> SpecConnector:
    return SpecConnector(
        spec_for(connector), base_url, params, tokens, client=client, max_export_bytes=max_export_bytes
    )
