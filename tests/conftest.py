"""Shared fixtures: one Azurite per test session, started and stopped by the suite itself."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import azurite as azurite_mod
from local.simulator import (
    FIXTURE_ENTRA_CLIENT_ID,
    FIXTURE_ENTRA_CLIENT_SECRET,
    FIXTURE_SALESFORCE_CLIENT_ID,
    FIXTURE_SALESFORCE_CLIENT_SECRET,
    GRAPH_FIXTURE_TOKEN,
    SAILPOINT_FIXTURE_CLIENT,
    SAILPOINT_FIXTURE_SECRET,
    Simulator,
    SimulatorConfig,
    run_simulator,
)
from sinks.storage_clients import StorageSettings


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[azurite_mod.Azurite]:
    """A real Azurite on loopback, telemetry off, on free ports, for the whole session."""
    data_dir = Path(tmp_path_factory.mktemp("azurite"))
    with azurite_mod.running(data_dir) as running:
        yield running


@pytest.fixture
def storage_connection_string(azurite: azurite_mod.Azurite) -> str:
    return azurite.connection_string


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to loopback only; a proxy in the environment must not intercept it."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(autouse=True)
def _loopback_upstreams_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Upstreams in tests are the simulator or a standard-library server on 127.0.0.1: local development.

    Tests of the refusal set EXPORTS_ALLOW_LOOPBACK_UPSTREAMS back to "false" themselves.
    """
    monkeypatch.setenv("EXPORTS_ALLOW_LOOPBACK_UPSTREAMS", "true")


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    """A fresh upstream simulator on loopback, with default (fast) behaviour; tests change `sim.config`."""
    with run_simulator(SimulatorConfig()) as sim:
        yield sim


@pytest.fixture
def export_env(azurite: azurite_mod.Azurite, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """Environment the activities read: Azurite storage, a container and queue of this test's own, fixture creds."""
    name = re.sub(r"[^a-z0-9]", "", request.node.name.lower())[-40:] + uuid.uuid4().hex[:8]
    monkeypatch.setenv("EXPORTS_STORAGE_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setenv("EXPORTS_CONTAINER", f"c{name}"[:63])
    monkeypatch.setenv("EXPORTS_EVENTS_QUEUE", f"q{name}"[:63])
    monkeypatch.setenv("EXPORTS_EVENTS_SINK", "queue")
    monkeypatch.setenv("TEST_GRAPH_TOKEN", GRAPH_FIXTURE_TOKEN)
    monkeypatch.setenv("TEST_SP_CLIENT_ID", SAILPOINT_FIXTURE_CLIENT)
    monkeypatch.setenv("TEST_SP_CLIENT_SECRET", SAILPOINT_FIXTURE_SECRET)
    monkeypatch.setenv("TEST_ENTRA_CLIENT_ID", FIXTURE_ENTRA_CLIENT_ID)
    monkeypatch.setenv("TEST_ENTRA_CLIENT_SECRET", FIXTURE_ENTRA_CLIENT_SECRET)
    monkeypatch.setenv("TEST_SF_CLIENT_ID", FIXTURE_SALESFORCE_CLIENT_ID)
    monkeypatch.setenv("TEST_SF_CLIENT_SECRET", FIXTURE_SALESFORCE_CLIENT_SECRET)
    azurite_mod.provision(StorageSettings.from_env())  # as `make demo` and the CLI do; the deployment in Azure
    return azurite.connection_string
