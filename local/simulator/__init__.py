"""A faithful stand-in for the upstream export APIs: Microsoft Graph Viva Goals, SailPoint ISC, Intune reports,
Power BI ExportTo, Azure cost details and Salesforce Bulk API 2.0 query (plus Entra ID's token endpoint and a
second origin standing for Azure Blob Storage)."""

from local.simulator.config import (
    FIXTURE_COST_SCOPE,
    FIXTURE_COST_TOKEN,
    FIXTURE_ENTRA_CLIENT_ID,
    FIXTURE_ENTRA_CLIENT_SECRET,
    FIXTURE_ENTRA_TENANT,
    FIXTURE_INTUNE_TOKEN,
    FIXTURE_POWERBI_GROUP,
    FIXTURE_POWERBI_REPORT,
    FIXTURE_POWERBI_TOKEN,
    FIXTURE_SALESFORCE_CLIENT_ID,
    FIXTURE_SALESFORCE_CLIENT_SECRET,
    FIXTURE_SALESFORCE_TOKEN,
    GRAPH_FIXTURE_TOKEN,
    SAILPOINT_FIXTURE_CLIENT,
    SAILPOINT_FIXTURE_SECRET,
    SimulatorConfig,
)
from local.simulator.content import expected_content
from local.simulator.server import APIS, Simulator, run_simulator

__all__ = [
    "APIS",
    "FIXTURE_COST_SCOPE",
    "FIXTURE_COST_TOKEN",
    "FIXTURE_ENTRA_CLIENT_ID",
    "FIXTURE_ENTRA_CLIENT_SECRET",
    "FIXTURE_ENTRA_TENANT",
    "FIXTURE_INTUNE_TOKEN",
    "FIXTURE_POWERBI_GROUP",
    "FIXTURE_POWERBI_REPORT",
    "FIXTURE_POWERBI_TOKEN",
    "FIXTURE_SALESFORCE_CLIENT_ID",
    "FIXTURE_SALESFORCE_CLIENT_SECRET",
    "FIXTURE_SALESFORCE_TOKEN",
    "GRAPH_FIXTURE_TOKEN",
    "SAILPOINT_FIXTURE_CLIENT",
    "SAILPOINT_FIXTURE_SECRET",
    "Simulator",
    "SimulatorConfig",
    "expected_content",
    "run_simulator",
]
