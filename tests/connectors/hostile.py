"""Connectors aimed at a hostile upstream, with small limits so the attacks end quickly."""

from __future__ import annotations

from typing import Any

from connectors.http.transport import HttpSettings
from connectors.spec.engine import SpecConnector
from credentials.static_token import StaticTokenProvider
from tests.support.connectors import sailpoint_connector, viva_goals_connector
from tests.support.hostile_upstream import HostileUpstream
from tests.support.targets import ORG, VIEW

# Test fixtures, not credentials: what the connectors send to the hostile upstream, and a string shaped like a JWT
# (header {"alg":"HS256"}, payload {"sub":"alice"}, no real signature) for redaction to find.
FIXTURE_TOKEN = "hostile-test-bearer-token-0123456789"
FIXTURE_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz"
PARAMS = {"goals_organization_id": ORG, "explorer_view_id": VIEW}


def viva(upstream: HostileUpstream, *, max_export_bytes: int | None = None, **settings: Any) -> SpecConnector:
    """A Viva Goals connector against `upstream`, with a client of its own (no connection shared across tests)."""
    http = HttpSettings(trust_env=False, **settings)
    limit: dict[str, Any] = {} if max_export_bytes is None else {"max_export_bytes": max_export_bytes}
    tokens = StaticTokenProvider("T", {"T": FIXTURE_TOKEN})
    return viva_goals_connector(upstream.graph_base_url, tokens, settings=http, client=http.client(), **limit)


def sailpoint(upstream: HostileUpstream) -> SpecConnector:
    """A SailPoint connector against `upstream` (API version v2025), with a client of its own."""
    http = HttpSettings(trust_env=False)
    tokens = StaticTokenProvider("T", {"T": FIXTURE_TOKEN})
    return sailpoint_connector(f"{upstream.url}/v2025", tokens, settings=http, client=http.client())
