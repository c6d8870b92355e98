"""`app_settings` is the one place a setting's default is written: reads fall back to the catalogue, never to
a literal of their own at the call site."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import app_settings
from sinks.storage_clients import StorageSettings

REPO = Path(__file__).resolve().parent.parent


def test_an_unset_or_empty_setting_reads_as_its_catalogued_default() -> None:
    assert app_settings.get("EXPORTS_CONTAINER", {}) == "exports"
    assert app_settings.get("EXPORTS_CONTAINER", {"EXPORTS_CONTAINER": ""}) == "exports"
    assert app_settings.get("EXPORTS_CONTAINER", {"EXPORTS_CONTAINER": "mine"}) == "mine"


def test_an_unset_setting_without_a_default_reads_as_empty() -> None:
    assert app_settings.get("EVENTGRID_TOPIC_ENDPOINT", {}) == ""
    with pytest.raises(KeyError):
        app_settings.default("EVENTGRID_TOPIC_ENDPOINT")
    with pytest.raises(KeyError):
        app_settings.get("NOT_A_CATALOGUED_SETTING", {})


def test_storage_settings_take_their_names_from_the_catalogue() -> None:
    settings = StorageSettings.from_env({"EXPORTS_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true"})
    default = StorageSettings("UseDevelopmentStorage=true", None, None)
    for field in ("container", "queue"):
        assert getattr(settings, field) == getattr(default, field)
    assert (settings.container, settings.queue) == (
        app_settings.default("EXPORTS_CONTAINER"),
        app_settings.default("EXPORTS_EVENTS_QUEUE"),
    )


def fallbacks_in(source: str) -> list[int]:
    """Lines where `app_settings.get(...) or <something>` gives a setting a default of the caller's own."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            first = node.values[0]
            if isinstance(first, ast.Call) and ast.unparse(first.func) == "app_settings.get":
                lines.append(node.lineno)
    return lines


def test_the_fallback_scan_sees_a_default_given_at_the_call_site() -> None:
    assert fallbacks_in('x = app_settings.get("A") or "a"\ny = app_settings.get("B")\n') == [1]


def test_no_code_gives_a_setting_a_default_of_its_own() -> None:
    found = {
        str(path.relative_to(REPO)): lines
        for path in sorted(REPO.rglob("*.py"))
        if not any(part.startswith(".") or part in {"node_modules", "tests"} for part in path.relative_to(REPO).parts)
        and (lines := fallbacks_in(path.read_text(encoding="utf-8")))
    }
    assert found == {}
