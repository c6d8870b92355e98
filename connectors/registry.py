"""The table of connectors: each name's parameter model and how to build it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import BaseModel

from connectors.base import ExportConnector
from connectors.credentials import TokenProvider
from connectors.http import check_base_url
from connectors.sailpoint import SailPointConnector, SailPointParams
from connectors.viva_goals import VivaGoalsConnector, VivaGoalsParams

Factory = Callable[..., ExportConnector]
CONNECTORS: dict[str, tuple[type[BaseModel], Factory]] = {
    "viva_goals": (VivaGoalsParams, VivaGoalsConnector),
    "sailpoint": (SailPointParams, SailPointConnector),
}


def _entry(connector: str) -> tuple[type[BaseModel], Factory]:
    try:
        return CONNECTORS[connector]
    except KeyError:
        raise ValueError(f"unknown connector {connector!r}; known: {', '.join(sorted(CONNECTORS))}") from None


def parse_params(connector: str, params: Mapping[str, Any]) -> BaseModel:
    """Validate a connector's parameters (raises pydantic's ValidationError or ValueError)."""
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
    model, factory = _entry(connector)
    validated = params if isinstance(params, model) else model.model_validate(dict(params))
    return factory(check_base_url(base_url), validated, tokens, client=client, max_export_bytes=max_export_bytes)
