"""Shared fixtures: one Azurite per test session, started and stopped by the suite itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local import azurite as azurite_mod


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
