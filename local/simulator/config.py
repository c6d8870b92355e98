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
    # Graph content written once to a file here and sent with sendfile: a source that costs this machine almost no
    # CPU (the benchmark's, where the simulator shares two cores with the pipeline it feeds). Not with faults.
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

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown simulator setting(s): {', '.join(sorted(unknown))}")
        for key, value in changes.items():
            setattr(self, key, value)
