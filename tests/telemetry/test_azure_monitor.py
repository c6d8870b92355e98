"""Azure Monitor is configured by the entry point only, only with its connection string, instrumentations off."""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from typing import Any

import pytest

from telemetry import azure
from telemetry.context import export_context

REPO = Path(__file__).resolve().parents[2]


def test_nothing_is_configured_without_a_connection_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("azure.monitor.opentelemetry.configure_azure_monitor", lambda **kw: calls.append(kw))
    assert azure.configure_from_settings() is False
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", "")
    assert azure.configure_from_settings() is False
    assert calls == []


def test_with_a_connection_string_the_distro_gets_it_a_managed_identity_and_every_instrumentation_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from azure.monitor.opentelemetry._constants import _ALL_SUPPORTED_INSTRUMENTED_LIBRARIES

    connection = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://x.example/"
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", connection)
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-1111-1111-1111-111111111111")
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("azure.monitor.opentelemetry.configure_azure_monitor", lambda **kw: calls.append(kw))
    assert azure.configure_from_settings() is True
    [options] = calls
    assert options["connection_string"] == connection
    assert type(options["credential"]).__name__ == "ManagedIdentityCredential"
    off = {name for name, value in options["instrumentation_options"].items() if value == {"enabled": False}}
    assert off == set(_ALL_SUPPORTED_INSTRUMENTED_LIBRARIES)  # httpx's would record pre-signed URLs whole


def test_only_the_entry_point_configures_telemetry() -> None:
    callers = []
    for path in REPO.rglob("*.py"):
        parts = path.relative_to(REPO).parts
        if parts[0] in {".venv", "node_modules", "tests"} or any(p.startswith(".") for p in parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in {
                "configure_from_settings",
                "configure_azure_monitor",
            }:
                callers.append(str(path.relative_to(REPO)))
    assert sorted(callers) == ["function_app.py", "telemetry/azure.py"]


def test_every_record_written_inside_an_export_context_carries_its_attributes_and_none_outside(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with export_context(target="goals", connector="viva_goals", instance_id="i-1", phase="polling"):
        logging.getLogger("anything.at.all").info("inside")
        with export_context(job_id="job\n\n7"):
            logging.getLogger("x").info("nested")
    logging.getLogger("x").info("outside")
    inside, nested, outside = caplog.records
    assert (inside.target, inside.phase, inside.instance_id) == ("goals", "polling", "i-1")  # type: ignore[attr-defined]
    assert not hasattr(inside, "job_id")
    assert (nested.target, nested.job_id) == ("goals", "job 7")  # type: ignore[attr-defined]
    assert not hasattr(outside, "target")
    with pytest.raises(ValueError, match="not export attributes"):
        export_context(token="x").__enter__()
