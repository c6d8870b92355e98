"""The fault matrix's own Azurite, and the table of rows it prints when the session ends.

One row restarts Azurite in the middle of an upload; doing that to the session's
shared Azurite would break every test running next to it, so that row gets an
Azurite of its own on fixed ports, which a restart must reuse for the clients'
connection string to stay valid. The table exists because the matrix answers
one question, "which faults does an export survive?", and pytest's dots and
node ids make the reader dig the answer out row by row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import azurite as azurite_mod

MATRIX_FILE = "test_fault_matrix.py"
_rows: dict[str, str] = {}  # row id -> PASS / FAIL / SKIP, in the order the rows ran


def _row_id(nodeid: str) -> str | None:
    if f"{MATRIX_FILE}::" not in nodeid:
        return None
    name = nodeid.split("::")[-1]
    param = re.search(r"\[(.*)\]$", name)
    return param.group(1) if param else name


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    row = _row_id(report.nodeid)
    if row is None:
        return
    if report.failed:
        _rows[row] = "FAIL"  # in setup, call or teardown: any of them fails the row
    elif report.skipped:
        _rows.setdefault(row, "SKIP")
    elif report.when == "call":
        _rows.setdefault(row, "PASS")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _rows:
        return
    terminalreporter.section("fault matrix")
    width = max(len(row) for row in _rows)
    for row, status in _rows.items():
        terminalreporter.write_line(f"{row:<{width}}  {status}", green=status == "PASS", red=status == "FAIL")
    passed = sum(status == "PASS" for status in _rows.values())
    terminalreporter.write_line(f"{passed} of {len(_rows)} rows passed")


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
