"""The fault matrix's own Azurite (its table of rows is printed by `tests.faults.report`).

One row restarts Azurite in the middle of an upload; doing that to the session's
shared Azurite would break every test running next to it, so that row gets an
Azurite of its own on fixed ports, which a restart must reuse for the clients'
connection string to stay valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local import azurite as azurite_mod


class RestartableAzurite:
    """An Azurite whose process can be stopped and started again on the same ports and data."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.ports = _three_free_ports()
        self.azurite, self._proc = azurite_mod.start(data_dir, ports=self.ports)
        self.stops = 0
        self.restarts = 0

    @property
    def running(self) -> bool:
        return self._proc.poll() is None

    def stop(self) -> None:
        azurite_mod.stop(self._proc)
        self.stops += 1

    def restart(self) -> None:
        self.azurite, self._proc = azurite_mod.start(self.data_dir, ports=self.ports)
        self.restarts += 1

    def close(self) -> None:
        azurite_mod.stop(self._proc)


def _three_free_ports() -> tuple[int, int, int]:
    ports: list[int] = []
    while len(ports) < 3:
        port = azurite_mod.free_port()
        if port not in ports:
            ports.append(port)
    return ports[0], ports[1], ports[2]


@pytest.fixture
def restartable_azurite(tmp_path: Path) -> Iterator[RestartableAzurite]:
    own = RestartableAzurite(tmp_path / "azurite")
    try:
        yield own
    finally:
        own.close()
