"""Azure Monitor as the OpenTelemetry exporter, configured by the app's entry point and only when asked.

`configure_from_settings()` is called by `function_app.py` when the Functions host loads the app; nothing else
calls it, and importing this module does nothing. With `APPLICATIONINSIGHTS_CONNECTION_STRING` unset or empty
(local runs, tests) nothing is configured and nothing leaves the process. With it set, the distro sends logs
(`AppTraces`), spans (`AppDependencies` / `AppRequests`) and metrics (`AppMetrics`) to Application Insights,
authenticated with the app's managed identity (the component accepts Entra ID authenticated telemetry only).

Every library instrumentation the distro would add is turned off: the httpx one would record each upstream
URL whole (a pre-signed download URL carries its signature in the query), the Azure SDK and urllib ones each
Blob Storage URL. What the pipeline records of an HTTP call is `telemetry.spans`' own span, query-free.
"""

from __future__ import annotations

import logging
from typing import Any

import app_settings

# The distro's instrumentations (azure-monitor-opentelemetry 1.8: _ALL_SUPPORTED_INSTRUMENTED_LIBRARIES).
INSTRUMENTATIONS = (
    "azure_sdk",
    "django",
    "fastapi",
    "flask",
    "httpx",
    "httpx2",
    "psycopg2",
    "requests",
    "urllib",
    "urllib3",
)
log = logging.getLogger(__name__)


def distro_options(connection_string: str, credential: Any) -> dict[str, Any]:
    """The keyword arguments `configure_azure_monitor` is called with."""
    return {
        "connection_string": connection_string,
        "credential": credential,
        "instrumentation_options": {name: {"enabled": False} for name in INSTRUMENTATIONS},
        "enable_live_metrics": False,
    }


def configure_from_settings() -> bool:
    """Send telemetry to Application Insights if the connection string is set; True when configured."""
    connection_string = app_settings.get("APPLICATIONINSIGHTS_CONNECTION_STRING")
    if not connection_string:
        return False
    from azure.identity import ManagedIdentityCredential
    from azure.monitor.opentelemetry import configure_azure_monitor

    client_id = app_settings.get("AZURE_CLIENT_ID")  # empty: the system-assigned identity
    credential = ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    configure_azure_monitor(**distro_options(connection_string, credential))
    log.info("telemetry goes to Azure Monitor")
    return True
