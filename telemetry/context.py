"""The export an activity is working for, stamped on every log record written while it works.

Why: one query must find a run's whole story, whichever module logged a line. Each activity runs inside
`export_context` (set once, in `telemetry.activity`), and a log-record factory copies the current values onto
every record as attributes (`target`, `connector`, `instance_id`, `job_id`, `phase`), which the OpenTelemetry
logging handler exports as log attributes (Application Insights: `Properties` / `customDimensions`).
The factory is installed the first time a context is entered, never at import. This package imports nothing
of the project's, so the connectors can record their calls through it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

EXPORT_ATTRIBUTES = ("target", "connector", "instance_id", "job_id", "phase")
MAX_VALUE = 200  # an attribute value as recorded: one line, redacted, bounded

_current: ContextVar[Mapping[str, str]] = ContextVar("export_telemetry_context")
_install_lock = threading.Lock()
_installed: list[bool] = []


def current() -> dict[str, str]:
    """The attributes of the export being worked on (empty outside an activity)."""
    return dict(_current.get({}))


def bounded(value: object) -> str:
    """A value as it is recorded: one line of at most MAX_VALUE characters. Callers pass values that are
    already safe (validated names, our own ids, upstream text redacted with `kernel.redaction`)."""
    return " ".join(str(value).split())[:MAX_VALUE]


@contextmanager
def export_context(**values: Any) -> Iterator[None]:
    """Stamp `values` (a subset of EXPORT_ATTRIBUTES; None is left out) on every log record written inside."""
    _install_record_factory()
    unknown = set(values) - set(EXPORT_ATTRIBUTES)
    if unknown:
        raise ValueError(f"not export attributes: {sorted(unknown)}")
    merged = {**_current.get({}), **{key: bounded(v) for key, v in values.items() if v is not None}}
    token = _current.set(merged)
    try:
        yield
    finally:
        _current.reset(token)


def _install_record_factory() -> None:
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def stamped(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            for key, value in _current.get({}).items():
                record.__dict__.setdefault(key, value)
            return record

        logging.setLogRecordFactory(stamped)
        _installed.append(True)
