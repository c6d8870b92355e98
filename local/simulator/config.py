"""The switches of the upstream simulator: one dataclass, changeable while it runs.

Each field is a behaviour the real services show (or that the documents leave
room for) and that a client must survive: slow jobs, Retry-After values,
documentation quirks, failures, expiry, throttling, slow or cut bodies.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

# Fixture credentials for the simulator only: printed by the CLI, used by tests and the demo.
GRAPH_FIXTURE_TOKEN = "sim-graph-token"  # noqa: S105
SAILPOINT_FIXTURE_CLIENT = "sim-client"
SAILPOINT_FIXTURE_SECRET = "sim-secret"  # noqa: S105
# Entra ID (Intune, Power BI, cost details): one app registration in one tenant, allowed on all three APIs.
FIXTURE_ENTRA_TENANT = "5f0c8a5e-3c1b-4f0e-9d2a-7b6e1c4d8a90"
FIXTURE_ENTRA_CLIENT_ID = "0b7f3e2a-6d4c-4a8b-9e1f-2c5d7a9b3e61"
FIXTURE_ENTRA_CLIENT_SECRET = "sim-entra-secret"  # noqa: S105
# Ready-made bearer tokens, one per API (each accepted only by its own API), for tests that skip the token call.
FIXTURE_INTUNE_TOKEN = "sim-intune-token"  # noqa: S105
FIXTURE_POWERBI_TOKEN = "sim-powerbi-token"  # noqa: S105
FIXTURE_COST_TOKEN = "sim-cost-token"  # noqa: S105
# Salesforce: a connected app with the client credentials flow enabled (and a run-as user).
FIXTURE_SALESFORCE_CLIENT_ID = "3MVG9sim.connected.app.consumer.key"
FIXTURE_SALESFORCE_CLIENT_SECRET = "sim-salesforce-secret"  # noqa: S105
FIXTURE_SALESFORCE_TOKEN = "00Dsim!sim-salesforce-token"  # noqa: S105
# The fixture Power BI workspace (group) and report, and the fixture cost scope (a subscription).
FIXTURE_POWERBI_GROUP = "f089354e-8366-4e18-aea3-4cb4a3a50b48"
FIXTURE_POWERBI_REPORT = "cfafbeb1-8037-4d0c-896e-a46fb27ff229"
FIXTURE_COST_SCOPE = "subscriptions/00000000-0000-0000-0000-000000000000"

DEFAULT_ORGANIZATIONS: dict[str, list[str]] = {
    "9ab0fcab-c1d4-4b26-963b-a3c33155f853": ["2c8b5fd3-67c3-4677-8eb3-e0066c4d2fd7"],
    "94a356ab-53d5-40e7-8a85-053d6d3b9eb3": ["e5e7a3c1-8cdf-409d-9ce9-ff730d65d95e"],
}


@dataclass
class SimulatorConfig:
    """Per-run behaviour of both simulated APIs."""

    job_polls: int | None = 2  # status GETs before a job finishes; None = finish by time instead
    job_duration_s: float = 0.0  # used when job_polls is None
    never_finish: bool = False
    fail_jobs: int = 0  # the next N created jobs end failed, with a reason
    retry_after_s: int | None = 1  # Graph status polls while not finished; None = no header
    sailpoint_retry_after_s: int | None = None  # undocumented for SailPoint, so off by default
    # Graph documentation quirks
    wrap_value: bool = False  # {"value": {...}} instead of the bare entity
    hyphen_timestamps: bool = False  # 2023-06-19T12-06-03.0024Z
    quoted_location: bool = False  # Location: "https://..."
    innererror_lowercase: bool | None = None  # None: as documented (only the 409 is lower-case)
    # results
    content_size: int = 64 * 1024
    result_ttl_s: float = 7 * 24 * 3600.0
    content_bytes_per_s: float | None = None
    content_host: str | None = None  # serve resourceLocation from another host name (another origin)
    chunk_size: int = 64 * 1024
    # Graph content, cost details parts and Salesforce pages written once to a file here (the first time they are
    # asked for) and sent with sendfile: a source that costs this machine almost no CPU (the benchmark's, where the
    # simulator shares two cores with the pipeline it feeds). Not with a cut-body fault or a slow body.
    content_file_dir: str | None = None
    # hostile behaviour: every free text (status details, failure messages, errors) repeats the credentials
    # the request carried (Authorization header, token request form), as a careless or hostile server might
    echo_credentials: bool = False
    # auth and limits
    token_ttl_s: float = 749.0
    rate_limit_requests: int = 100
    rate_limit_window_s: float = 10.0
    organizations: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_ORGANIZATIONS.items()}
    )
    sailpoint_clients: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            SAILPOINT_FIXTURE_CLIENT: {"secret": SAILPOINT_FIXTURE_SECRET, "scopes": ["sp:config"]}
        }
    )

    # Entra ID: client id -> secret and the app roles it holds on each resource (https://graph.microsoft.com, ...)
    entra_clients: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            FIXTURE_ENTRA_CLIENT_ID: {
                "secret": FIXTURE_ENTRA_CLIENT_SECRET,
                "roles": {
                    "https://graph.microsoft.com": ["DeviceManagementManagedDevices.ReadWrite.All"],
                    "https://analysis.windows.net/powerbi/api": [],
                    "https://management.azure.com": [],
                },
            }
        }
    )
    entra_token_ttl_s: float = 3599.0
    # Intune reports
    intune_unknown_polls: int = 0  # the first N status polls of every job say `unknown`
    intune_result_ttl_s: float = 6 * 3600.0  # expirationDateTime after completion (the docs' example: ~6 h)
    # Power BI ExportTo
    powerbi_retry_after_s: int = 1  # Retry-After on the 202 status answers while NotStarted/Running
    powerbi_busy_failures: int = 0  # the next N exports end Failed WITH Retry-After (busy: create again later)
    powerbi_busy_retry_after_s: int = 30
    powerbi_result_ttl_s: float = 24 * 3600.0
    powerbi_reports: dict[str, list[str]] = field(
        default_factory=lambda: {FIXTURE_POWERBI_GROUP: [FIXTURE_POWERBI_REPORT]}
    )
    # Azure cost details
    cost_retry_after_s: int = 1  # on the create's 202 and every running 202
    cost_no_data_on_create: bool = False  # the create answers 204: no data for the period
    cost_no_data_on_status: bool = False  # the operation ends 200 NoDataFound
    cost_parts: int = 2  # blobs in the manifest, each a CSV with its own header
    cost_result_ttl_s: float = 24 * 3600.0  # validTill after completion
    # Salesforce Bulk API 2.0 query
    salesforce_records: int = 25  # rows the query returns in all
    salesforce_page_records: int = 10  # rows per results page when the client sends no maxRecords
    salesforce_retention_s: float = 7 * 24 * 3600.0  # after this the job (and its results) are gone: 404
    salesforce_instance_url: str | None = None  # the token response's instance_url (None: this simulator)
    salesforce_clients: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {FIXTURE_SALESFORCE_CLIENT_ID: {"secret": FIXTURE_SALESFORCE_CLIENT_SECRET}}
    )
    salesforce_failure_message: str = "INVALID_FIELD: No such column 'Foo__c' on entity 'Account'"

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown simulator setting(s): {', '.join(sorted(unknown))}")
        for key, value in changes.items():
            setattr(self, key, value)
