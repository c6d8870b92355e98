"""Targets pointing at the simulator, shaped as a user would write them."""

from __future__ import annotations

from typing import Any

from local.simulator import Simulator
from local.simulator.config import FIXTURE_COST_SCOPE, FIXTURE_POWERBI_GROUP, FIXTURE_POWERBI_REPORT
from targets import Target, parse_targets

ORG = "9ab0fcab-c1d4-4b26-963b-a3c33155f853"
VIEW = "2c8b5fd3-67c3-4677-8eb3-e0066c4d2fd7"


def viva_raw(base_url: str, name: str = "goals") -> dict[str, Any]:
    """A Viva Goals target as a targets file holds it, its token in TEST_GRAPH_TOKEN, against any Graph base URL."""
    return {
        "name": name,
        "connector": "viva_goals",
        "base_url": base_url,
        "params": {"goals_organization_id": ORG, "explorer_view_id": VIEW},
        "auth": {"kind": "bearer_env", "env": "TEST_GRAPH_TOKEN"},
    }


def viva_target(sim: Simulator, name: str = "goals", **poll: Any) -> Target:
    return _one({**viva_raw(sim.graph_base_url, name), "poll": {"floor_s": 1, "ceiling_s": 30, **poll}})


def sailpoint_target(sim: Simulator, name: str = "spconfig", **poll: Any) -> Target:
    return _one(
        {
            "name": name,
            "connector": "sailpoint",
            "base_url": sim.sailpoint_base_url("v2025"),
            "params": {"description": "test", "include_types": ["RULE", "SOURCE"]},
            "auth": {
                "kind": "client_credentials_env",
                "client_id_env": "TEST_SP_CLIENT_ID",
                "client_secret_env": "TEST_SP_CLIENT_SECRET",
            },
            "poll": {"floor_s": 1, "ceiling_s": 30, **poll},
        }
    )


ENTRA_AUTH_ENV = {"client_id_env": "TEST_ENTRA_CLIENT_ID", "client_secret_env": "TEST_ENTRA_CLIENT_SECRET"}


def entra_app_auth(sim: Simulator) -> dict[str, Any]:
    """Entra ID client credentials against the simulator's token endpoint (the ids in TEST_ENTRA_CLIENT_*)."""
    return {"kind": "client_credentials_env", **ENTRA_AUTH_ENV, "token_url": sim.entra_token_url()}


def cost_raw(sim: Simulator, name: str = "costs") -> dict[str, Any]:
    return {
        "name": name,
        "connector": "cost_details_report",
        "base_url": sim.cost_base_url,
        "params": {"scope": FIXTURE_COST_SCOPE, "time_period": {"start": "2026-11-01", "end": "2026-11-30"}},
        "auth": entra_app_auth(sim),
        "poll": {"floor_s": 1, "ceiling_s": 30},
    }


def powerbi_raw(sim: Simulator, name: str = "sales-report") -> dict[str, Any]:
    return {
        "name": name,
        "connector": "powerbi_export_to_file",
        "base_url": sim.powerbi_base_url,
        "params": {"group_id": FIXTURE_POWERBI_GROUP, "report_id": FIXTURE_POWERBI_REPORT, "format": "CSV"},
        "auth": entra_app_auth(sim),
        "poll": {"floor_s": 1, "ceiling_s": 30},
    }


def intune_raw(sim: Simulator, name: str = "devices") -> dict[str, Any]:
    return {
        "name": name,
        "connector": "intune_report_export",
        "base_url": sim.intune_base_url,
        "params": {"report_name": "Devices", "select": ["DeviceId", "DeviceName", "OS"]},
        "auth": entra_app_auth(sim),
        "poll": {"floor_s": 1, "ceiling_s": 30},
    }


def salesforce_raw(sim: Simulator, name: str = "accounts") -> dict[str, Any]:
    """Salesforce client credentials (the ids in TEST_SF_CLIENT_*): the base URL is where the token is asked."""
    return {
        "name": name,
        "connector": "salesforce_bulk_query",
        "base_url": sim.salesforce_login_url,
        "params": {"query": "SELECT Id, Name FROM Account"},
        "auth": {
            "kind": "client_credentials_env",
            "client_id_env": "TEST_SF_CLIENT_ID",
            "client_secret_env": "TEST_SF_CLIENT_SECRET",
        },
        "poll": {"floor_s": 1, "ceiling_s": 30},
    }


def target_of(raw: dict[str, Any]) -> Target:
    """The target a targets file holding `raw` gives (validated as a user's file is)."""
    return _one(raw)


def _one(raw: dict[str, Any]) -> Target:
    return next(iter(parse_targets({"targets": [raw]}).values()))
