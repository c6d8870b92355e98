"""Connectors aimed at a hostile upstream, with small limits so the attacks end quickly."""

from __future__ import annotations

from typing import Any

from connectors.transport import HttpSettings
from connectors.viva_goals import VivaGoalsConnector, VivaGoalsParams
from credentials.static_token import StaticTokenProvider
from tests.support.hostile_upstream import HostileUpstream
from tests.support.targets import ORG, VIEW

TOKEN = "hostile-test-bearer-token-0123456789"
PARAMS = VivaGoalsParams(goals_organization_id=ORG, explorer_view_id=VIEW)


def viva(upstream: HostileUpstream, *, max_export_bytes: int | None = None, **settings: Any) -> VivaGoalsConnector:
    """A Viva Goals connector against `upstream`, with a client of its own (no connection shared across tests)."""
    http = HttpSettings(trust_env=False, **settings)
    limit: dict[str, Any] = {} if max_export_bytes is None else {"max_export_bytes": max_export_bytes}
    tokens = StaticTokenProvider("T", {"T": TOKEN})
    return VivaGoalsConnector(upstream.graph_base_url, PARAMS, tokens, settings=http, client=http.client(), **limit)
