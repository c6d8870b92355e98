"""The table of connectors: each name's parameter model and connector class (which declares its defaults).

A name no class serves is a connector spec's (`connectors.spec.registry`): the living APIs are specs only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import BaseModel, RootModel

from connectors.api_client import TokenProvider
from connectors.base import ExportConnector
from connectors.export_connector import TokenEndpoint
from connectors.sailpoint import SailPointConnector, SailPointParams
from connectors.spec.registry import build_spec_connector, check_auth_kind, parse_spec_params, spec_token_endpoint
from connectors.viva_goals import VivaGoalsConnector, VivaGoalsParams

ConnectorType = type[VivaGoalsConnector | SailPointConnector]
CONNECTORS: dict[str, tuple[type[BaseModel], ConnectorType]] = {
    "viva_goals": (VivaGoalsParams, VivaGoalsConnector),
    "sailpoint": (SailPointParams, SailPointConnector),
}


def _entry(connector: str) -> tuple[type[BaseModel], ConnectorType]:
    try:
        return CONNECTORS[connector]
    except KeyError:
        raise ValueError(f"unknown connector {connector!r}; known: {', '.join(sorted(CONNECTORS))}") from None


def _is_spec(connector: str) -> bool:
    """A connector no class serves: the spec of that name (or alias) drives it (the living APIs' specs)."""
    return connector not in CONNECTORS


def connector_type(connector: str) -> ConnectorType:
    """The class of connector `connector`: what it declares (error parser, token endpoint) without an instance."""
    return _entry(connector)[1]


def token_endpoint_of(connector: str) -> TokenEndpoint:
    """Where `connector`'s API exchanges client credentials for a token by default."""
    return spec_token_endpoint(connector) if _is_spec(connector) else connector_type(connector).token_endpoint


class SpecParams(RootModel[dict[str, Any]]):
    """A spec connector's params as its spec validated and normalised them (dumped back as they are)."""


def check_auth(connector: str, kind: str) -> None:
    """ValueError when a spec connector's auth profile does not take the target's credential kind (the seed
    classes check their credentials where they are built)."""
    if _is_spec(connector):
        check_auth_kind(connector, kind)


def parse_params(connector: str, params: Mapping[str, Any]) -> BaseModel:
    """Validate a connector's parameters (raises pydantic's ValidationError or ValueError)."""
    if _is_spec(connector):
        return SpecParams(parse_spec_params(connector, params))
    model, _ = _entry(connector)
    return model.model_validate(dict(params))


def build_connector(
    connector: str,
    base_url: str,
    params: BaseModel | Mapping[str, Any],
    tokens: TokenProvider,
    *,
    client: httpx.Client | None = None,
    max_export_bytes: int | None = None,
) -> ExportConnector:
    """The connector for `base_url` (checked once, by the API client that sends the token there)."""
    if _is_spec(connector):
        given = params.model_dump(mode="json") if isinstance(params, BaseModel) else dict(params)
        return build_spec_connector(
            connector, base_url, given, tokens, client=client, max_export_bytes=max_export_bytes
        )
    model, connector_class = _entry(connector)
    factory: Callable[..., ExportConnector] = connector_class  # parameters are checked against `model` above
    validated = params if isinstance(params, model) else model.model_validate(dict(params))
    return factory(base_url, validated, tokens, client=client, max_export_bytes=max_export_bytes)
