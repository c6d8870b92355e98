"""The fault matrix's table of rows, printed when the session ends (a plugin: `-p tests.faults.report`).

The table exists because the matrix answers one question, "which faults does an export survive?", and pytest's
dots and node ids make the reader dig the answer out row by row. It is a plugin named in `addopts` rather than
hooks in `tests/faults/conftest.py` because under pytest-xdist only the controller prints, and the controller
loads no conftest below the test paths: the hooks must be registered there too, where the workers' reports land.
"""

from __future__ import annotations

import re

import pytest

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
