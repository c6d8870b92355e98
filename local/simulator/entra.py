"""Microsoft Entra ID's v2.0 token endpoint (client credentials), and what the three Azure-hosted APIs share:
the bearer check by audience and app role, and the `{"error": {"code", "message"}}` envelope.

A token is asked for one resource (`scope=<resource>/.default`) and is accepted only by the simulated API of that
resource: Graph (Intune), Power BI, or Azure Resource Manager (cost details). Answers and error codes follow the
identity platform's documented shapes (`AADSTS...` codes in `error_description` and `error_codes`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from local.simulator import lifecycle
from local.simulator.config import FIXTURE_ENTRA_TENANT
from local.simulator.exchange import Exchange
from local.simulator.state import Fault, Grant, SimState, utcnow

name = "entra"
routes = ("entra.token",)
GRAPH = "https://graph.microsoft.com"
POWERBI = "https://analysis.windows.net/powerbi/api"
ARM = "https://management.azure.com"
RESOURCES = (GRAPH, POWERBI, ARM)


def base_url(origin: str) -> str:
    return origin


def token_url(origin: str, tenant: str | None = None) -> str:
    return f"{origin}/{tenant or FIXTURE_ENTRA_TENANT}/oauth2/v2.0/token"


def install_fixtures(state: SimState) -> None:
    return


def route_of(ex: Exchange) -> str | None:
    parts = ex.segments
    if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"] and ex.method == "POST":
        return "entra.token"
    return None


def token_error(ex: Exchange, status: int, error: str, code: int, text: str) -> None:
    body = {
        "error": error,
        "error_description": ex.echoed(f"AADSTS{code}: {text} Trace ID: {uuid.uuid4()}"),
        "error_codes": [code],
        "timestamp": utcnow().strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }
    ex.send_json(status, body)


def fault_response(ex: Exchange, state: SimState, fault: Fault) -> None:
    if fault.body is not None:
        ex.send_json(fault.status or 500, fault.body, lifecycle.fault_headers(fault))
        return
    body = {"error": "temporarily_unavailable", "error_description": "AADSTS90033: A transient error has occurred."}
    ex.send_json(fault.status or 503, body, lifecycle.fault_headers(fault))


def handle(ex: Exchange, state: SimState, route: str) -> None:
    form = {key: values[-1] for key, values in parse_qs(ex.body().decode(errors="replace")).items()}
    if ex.segments[0] != FIXTURE_ENTRA_TENANT:
        token_error(ex, 400, "invalid_request", 90002, f"Tenant '{ex.segments[0][:64]}' not found.")
        return
    if form.get("grant_type") != "client_credentials":
        token_error(ex, 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        return
    client = state.config.entra_clients.get(form.get("client_id", ""))
    if client is None:
        token_error(ex, 400, "unauthorized_client", 700016, "Application was not found in the directory.")
        return
    if client.get("secret") != form.get("client_secret"):
        token_error(ex, 401, "invalid_client", 7000215, "Invalid client secret provided.")
        return
    scope = form.get("scope", "")
    resource = scope.removesuffix("/.default")
    if not scope.endswith("/.default") or resource not in RESOURCES:
        token_error(ex, 400, "invalid_scope", 1002012, "The provided value for scope is not valid.")
        return
    roles = frozenset(client.get("roles", {}).get(resource, []))
    ttl = state.config.entra_token_ttl_s
    grant = Grant(resource, roles, utcnow() + timedelta(seconds=ttl), form["client_id"])
    token = state.issue_grant("sim-entra-", grant)
    ex.send_json(
        200, {"token_type": "Bearer", "expires_in": int(ttl), "ext_expires_in": int(ttl), "access_token": token}
    )


def error(
    ex: Exchange, status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> None:
    """The error envelope Graph, Power BI and Resource Manager share: {"error": {"code", "message", ...}}."""
    ex.send_json(status, {"error": {"code": code, "message": ex.echoed(message), **extra}}, headers)


def authorize(
    ex: Exchange, state: SimState, audience: str, roles: set[str] | None, refuse: Callable[[int, str], None]
) -> bool:
    """Whether the bearer is a live token for `audience` holding one of `roles` (None: any); else `refuse`."""
    grant = state.grant_for(ex.bearer(), audience)
    if grant is None:
        refuse(401, "Access token is empty or invalid.")
        return False
    if not grant.valid(utcnow()):
        refuse(401, "Access token has expired or is not yet valid.")
        return False
    if roles is not None and not grant.roles & roles:
        refuse(403, f"Missing role: one of {', '.join(sorted(roles))} is required.")
        return False
    return True
