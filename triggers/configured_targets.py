"""The targets the Function App knows by name, loaded once per worker from the targets file setting."""

from __future__ import annotations

import functools
from pathlib import Path

import app_settings
from targets import Target, load_targets

APP_ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def configured_targets() -> dict[str, Target]:
    name = app_settings.get("EXPORT_TARGETS_FILE")
    path = Path(name) if Path(name).is_absolute() else APP_ROOT / name
    if not path.exists():
        return {}
    return load_targets(path)  # a broken file fails loudly (TargetsError names the problem)
