"""The closed sets of code a spec may name: error envelope parsers, credential hints, auth profiles, transforms.

Why closed: a spec is data, never code. What a schema cannot say (how an API's error body reads, what its
credential needs, how a pasted browser URL becomes two GUIDs) is written here once, in Python, and a spec picks
it by name; a name not in these tables is refused when the spec is loaded. Adding an API that needs new code
means adding an entry here (and a test), not putting logic in YAML.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from connectors.http.envelopes import ErrorParser, parse_graph_error, parse_sailpoint_error, parse_salesforce_error

ENVELOPES: Mapping[str, ErrorParser] = {
    "graph": parse_graph_error,  # also Intune, Power BI and Azure Resource Manager (`{"error": {code, message}}`)
    "sailpoint": parse_sailpoint_error,
    "salesforce": parse_salesforce_error,  # [{errorCode, message}], and its OAuth endpoint's {error, error_description}
}

HINTS: Mapping[str, str] = {
    "viva_goals_delegated": (
        "Viva Goals exports need a delegated (signed-in user) token with Goals-Export.ReadWrite.All to create "
        "and Goals-Export.Read.All to read; app-only tokens are not accepted"
    ),
    "sailpoint_sp_config": (
        "check the client id and secret (or personal access token), and that the client's scopes cover sp:config:export"
    ),
    "generic": "check that the credential is valid, not expired or revoked, and has the permissions needed",
    "intune_reports": (
        "the app registration needs the Microsoft Graph application permission "
        "DeviceManagementManagedDevices.Read.All (or DeviceManagementConfiguration.Read.All for configuration "
        "reports), with admin consent"
    ),
    "powerbi_export": (
        "the service principal needs Tenant.Read.All or Report.Read.All on the Power BI service, to be allowed "
        "by the tenant setting for service principals, and membership (Member or Admin) of the report's workspace"
    ),
    "cost_management": (
        "the app needs the Cost Management Reader role (or Reader) on the scope, or a billing role for a billing "
        "account scope"
    ),
    "salesforce_bulk": (
        "the connected app needs the client credentials flow enabled with a run-as user that has API Enabled and "
        "View All Data (or read access to the queried objects); check the consumer key and secret"
    ),
}


@dataclass(frozen=True)
class AuthProfile:
    """What an API expects of a credential: the target auth kinds it accepts, whether it has a token path, and the
    scope its client-credentials token is asked for (Entra ID issues a token for one resource at a time)."""

    kinds: frozenset[str]
    token_path_allowed: bool
    scope: str | None = None


APP_KINDS = frozenset({"bearer_env", "client_credentials_env"})
AUTH_PROFILES: Mapping[str, AuthProfile] = {
    "entra_delegated": AuthProfile(frozenset({"bearer_env", "msal_token_cache"}), token_path_allowed=False),
    "entra_app": AuthProfile(APP_KINDS, token_path_allowed=False),
    # Entra ID client credentials, one per resource: the target names its tenant's token_url.
    "entra_app_graph": AuthProfile(APP_KINDS, token_path_allowed=False, scope="https://graph.microsoft.com/.default"),
    "entra_app_powerbi": AuthProfile(
        APP_KINDS, token_path_allowed=False, scope="https://analysis.windows.net/powerbi/api/.default"
    ),
    "entra_app_arm": AuthProfile(APP_KINDS, token_path_allowed=False, scope="https://management.azure.com/.default"),
    "oauth_client_credentials": AuthProfile(
        frozenset({"bearer_env", "client_credentials_env"}), token_path_allowed=True
    ),
    "bearer": AuthProfile(frozenset({"bearer_env"}), token_path_allowed=False),
}

EXPLORER_VIEW = (
    "expected goals_organization_id and explorer_view_id as GUIDs, or explorer_view_url like "
    "https://goals.microsoft.com/org_uuid/<GUID>/objective-explorer?viewId=<GUID>"
)


def _guid(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def _explorer_view_ids(url: str) -> tuple[str, str]:
    parts = urlsplit(url.strip())
    segments = parts.path.split("/")
    org = segments[segments.index("org_uuid") + 1] if "org_uuid" in segments[:-1] else None
    view = parse_qs(parts.query).get("viewId", [None])[-1]
    org_id, view_id = _guid(unquote(org) if org else None), _guid(view)
    if parts.scheme != "https" or not parts.hostname or org_id is None or view_id is None:
        raise ValueError(f"not an Explorer view URL: {EXPLORER_VIEW}")
    return org_id, view_id


def explorer_view_url(params: dict[str, Any]) -> dict[str, Any]:
    """Viva Goals: `explorer_view_url` (pasted from the browser) or the two GUIDs, normalised to the GUIDs."""
    url = params.pop("explorer_view_url", None)
    if url is not None:
        if params.get("goals_organization_id") or params.get("explorer_view_id"):
            raise ValueError(f"give either the two GUIDs or explorer_view_url, not both: {EXPLORER_VIEW}")
        org, view = _explorer_view_ids(url)
        return {**params, "goals_organization_id": org, "explorer_view_id": view}
    guid_org, guid_view = _guid(params.get("goals_organization_id")), _guid(params.get("explorer_view_id"))
    if guid_org is None or guid_view is None:
        raise ValueError(EXPLORER_VIEW)
    return {**params, "goals_organization_id": guid_org, "explorer_view_id": guid_view}


Transform = Callable[[dict[str, Any]], dict[str, Any]]
TRANSFORMS: Mapping[str, Transform] = {"explorer_view_url": explorer_view_url}
