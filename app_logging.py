"""Process-wide logging choices, made by the entry points only (`function_app.py`, `python -m local`).

A library module that set a logger's level at import would decide it for every process that happens to import
it (the host, the CLI, the tests, the benchmarks), in whatever order imports run; so the modules only define
loggers, and each entry point calls `quiet_url_loggers` once before it serves anything.
"""

from __future__ import annotations

import logging

# These log each request's URL at INFO; a download URL may carry a pre-signed query string.
URL_LOGGERS = ("httpx",)


def quiet_url_loggers() -> None:
    """Keep loggers that print request URLs at WARNING, so a pre-signed URL never reaches the logs."""
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
