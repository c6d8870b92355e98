"""Every app setting / environment variable the code reads, with its meaning, in one table.

The README's settings table, `local.settings.example.json` and the Bicep in
`infra/` are all checked against this list by the tests, so a setting cannot be
read by the code without being documented and deployed. Defaults live here
only: code reads a setting with `get` and never adds a fallback of its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    meaning: str
    default: str | None = None
    local_only: bool = False  # set on a developer machine only, never in Azure
    secret: bool = False  # in Azure a Key Vault reference, never a plain value


SETTINGS: tuple[Setting, ...] = (
    Setting("AzureWebJobsStorage", "Functions host storage (local: Azurite connection string)", local_only=True),
    Setting(
        "AzureWebJobsStorage__accountName",
        "Functions host storage account, identity-based connection (Azure)",
    ),
    Setting("DURABLE_TASK_HUB", "Durable Functions task hub name", "exportjobs"),
    Setting(
        "EXPORTS_STORAGE_CONNECTION_STRING",
        "Connection string for exports and events storage (local; Azurite by default)",
        local_only=True,
    ),
    Setting("EXPORTS_BLOB_ACCOUNT_URL", "Blob endpoint for exports, reached with DefaultAzureCredential"),
    Setting("EXPORTS_QUEUE_ACCOUNT_URL", "Queue endpoint for export events, reached with DefaultAzureCredential"),
    Setting("EXPORTS_CONTAINER", "Blob container that receives exports and manifests", "exports"),
    Setting("EXPORTS_EVENTS_QUEUE", "Storage queue that receives export CloudEvents", "export-events"),
    Setting("EXPORTS_EVENTS_SINK", "Where export events go: 'queue' or 'eventgrid'", "queue"),
    Setting("EVENTGRID_TOPIC_ENDPOINT", "Event Grid topic endpoint when EXPORTS_EVENTS_SINK=eventgrid"),
    Setting("EVENTGRID_TOPIC_KEY", "Event Grid topic key (optional; managed identity otherwise)", secret=True),
    Setting("EXPORT_TARGETS_FILE", "Targets file (YAML or JSON) shipped with the app", "targets.yaml"),
    Setting("EXPORT_SCHEDULE", "NCRONTAB schedule of the timer that starts due targets", "0 */5 * * * *"),
    Setting("EXPORT_MAX_CONCURRENT_JOBS", "Most upstream export jobs in flight at once", "4"),
    Setting(
        "EXPORTS_CONNECTOR_SPECS_DIR",
        "Directory of a deployment's own connector specs (YAML), beside the built-in ones; empty for none",
    ),
    Setting("SAILPOINT_CLIENT_ID", "SailPoint OAuth client id (targets name this setting)", secret=True),
    Setting("SAILPOINT_CLIENT_SECRET", "SailPoint OAuth client secret (targets name this setting)", secret=True),
    Setting(
        "EXPORTS_QUEUE",
        "Connection of the events queue trigger (local: Azurite; Azure: EXPORTS_QUEUE__queueServiceUri identity form)",
        local_only=True,
    ),
    Setting(
        "EXPORTS_ALLOW_LOOPBACK_UPSTREAMS",
        "Let targets and the locations upstreams give name loopback (127.0.0.1, localhost), plain http included: "
        "local development only",
        "false",
        local_only=True,
    ),
    Setting(
        "EXPORTS_ALLOW_PRIVATE_UPSTREAMS",
        "Let server-given download locations and redirects reach private addresses (10/8, 172.16/12, 192.168/16, "
        "100.64/10, fc00::/7): only for an upstream that sits on a private network",
        "false",
    ),
    Setting(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "Application Insights: logs, spans and metrics go there when set (function_app.py), nowhere when empty",
    ),
    Setting("AZURE_CLIENT_ID", "Client id of the user-assigned managed identity for DefaultAzureCredential"),
)

BY_NAME: Mapping[str, Setting] = {setting.name: setting for setting in SETTINGS}


def get(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A catalogued setting; unset or empty reads as its default, or "" if it has none.

    An uncatalogued name is a programming error (KeyError).
    """
    setting = BY_NAME[name]
    value = (os.environ if environ is None else environ).get(name)
    return value or setting.default or ""


def default(name: str) -> str:
    """The catalogued default of a setting that has one (a programming error otherwise)."""
    value = BY_NAME[name].default
    if value is None:
        raise KeyError(f"{name} has no default in the settings catalogue")
    return value
