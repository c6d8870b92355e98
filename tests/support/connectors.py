"""The seed connectors as tests build them: the spec connector of each built-in seed spec.

Why here: the seeds are specs (`connectors/specs/viva_goals.yaml`, `sailpoint_sp_config.yaml`) driven by the one
`SpecConnector`; tests that exercised a seed's class now build its spec the same way, with the same parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from connectors.credential_interface import TokenProvider
from connectors.spec.engine import SpecConnector
from connectors.spec.loader import load_specs
from connectors.spec.model import ConnectorSpec
from tests.support.targets import ORG, VIEW

VIVA_GOALS = "viva_goals"
SAILPOINT = "sailpoint_sp_config"


@cache
def seed_spec(name: str) -> ConnectorSpec:
    """A built-in spec by its name."""
    return load_specs()[name]


def viva_goals_connector(
    base_url: str, tokens: TokenProvider, *, org: str = ORG, view: str = VIEW, **options: Any
) -> SpecConnector:
    """The Viva Goals spec's connector for one Explorer view."""
    params = {"goals_organization_id": org, "explorer_view_id": view}
    return SpecConnector(seed_spec(VIVA_GOALS), base_url, params, tokens, **options)


def sailpoint_connector(
    base_url: str, tokens: TokenProvider, params: Mapping[str, Any] | None = None, **options: Any
) -> SpecConnector:
    """The SailPoint SP-Config spec's connector (an empty params object exports every type)."""
    return SpecConnector(seed_spec(SAILPOINT), base_url, dict(params or {}), tokens, **options)
