"""Build a connector for a target inside an activity: the connector's class, and the credential it expects.

The connector declares what its API expects of a credential (`TokenEndpoint`); `credentials.selection` resolves
the target's named credential with it and keeps providers per process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import ExportConnector
from connectors.registry import build_connector, token_endpoint_of
from credentials.selection import token_provider_for


def connector_for(target: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> ExportConnector:
    tokens = token_provider_for(target, token_endpoint_of(target["connector"]), environ)
    return build_connector(
        target["connector"],
        target["base_url"],
        target["params"],
        tokens,
        max_export_bytes=target.get("max_export_bytes"),
    )
