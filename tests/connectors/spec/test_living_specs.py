"""The built-in specs of the living APIs against their simulated APIs, step by step: what each vendor's documents
say that a careless reading gets wrong (each test fails if the spec misreads it that way)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import ExportConnector, JobState
from connectors.registry import build_connector
from credentials.static_token import StaticTokenProvider
from local.simulator import Simulator
from local.simulator.config import FIXTURE_COST_TOKEN, FIXTURE_INTUNE_TOKEN, FIXTURE_POWERBI_TOKEN
from tests.support.targets import cost_raw, intune_raw, powerbi_raw

pytestmark = pytest.mark.integration


def connector(raw: dict[str, Any], token: str) -> ExportConnector:
    return build_connector(raw["connector"], raw["base_url"], raw["params"], StaticTokenProvider("T", {"T": token}))


def test_intune_sentinel_expiry_of_a_running_job_reads_as_no_expiry(simulator: Simulator) -> None:
    """0001-01-01T00:00:00Z means "not yet" until the job completes; read as an expiry the job would look expired."""
    conn = connector(intune_raw(simulator), FIXTURE_INTUNE_TOKEN)
    created = conn.start_job()
    assert created.state is JobState.NOT_STARTED
    assert created.expires_at is None
    done = conn.check_job(conn.check_job(created))
    assert done.state is JobState.SUCCEEDED
    assert done.expires_at is not None
    assert not done.expires_at.startswith("0001")


def test_cost_details_job_is_the_location_on_the_api_origin(simulator: Simulator) -> None:
    """The create answers an empty 202 whose Location is the job, on the API's own origin (polled with the token)."""
    conn = connector(cost_raw(simulator), FIXTURE_COST_TOKEN)
    created = conn.start_job()
    assert created.job_ref is not None
    assert created.job_ref.startswith(simulator.cost_base_url)
    assert created.state is JobState.RUNNING
    running = conn.check_job(created)
    assert running.state in (JobState.RUNNING, JobState.SUCCEEDED)


def test_powerbi_202_while_running_is_progress_not_a_failure(simulator: Simulator) -> None:
    conn = connector(powerbi_raw(simulator), FIXTURE_POWERBI_TOKEN)
    created = conn.start_job()
    polled = conn.check_job(created)
    assert polled.state.is_active or polled.state is JobState.SUCCEEDED
    assert polled.retry_after_s is not None or polled.state is JobState.SUCCEEDED
