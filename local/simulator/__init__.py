"""A faithful stand-in for the upstream export APIs (Microsoft Graph Viva Goals, SailPoint ISC)."""

from local.simulator.config import (
    GRAPH_FIXTURE_TOKEN,
    SAILPOINT_FIXTURE_CLIENT,
    SAILPOINT_FIXTURE_SECRET,
    SimulatorConfig,
)
from local.simulator.content import expected_content
from local.simulator.server import Simulator, run_simulator

__all__ = [
    "GRAPH_FIXTURE_TOKEN",
    "SAILPOINT_FIXTURE_CLIENT",
    "SAILPOINT_FIXTURE_SECRET",
    "Simulator",
    "SimulatorConfig",
    "expected_content",
    "run_simulator",
]
