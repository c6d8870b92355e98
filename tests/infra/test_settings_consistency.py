"""Every setting the code reads is catalogued, deployed by the Bicep and listed for local runs; names agree.

The Bicep compiler cannot be installed here, so this reads the Bicep text: the app settings live between
two marker comments in infra/main.bicep.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import app_settings

REPO = Path(__file__).resolve().parents[2]
BICEP = (REPO / "infra" / "main.bicep").read_text()
HOST_OWNED = re.compile(r"^(APPLICATIONINSIGHTS_|AzureWebJobsStorage__|EXPORTS_QUEUE__)")
READS = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|os\.environ\[|app_settings\.get)\(?\s*["']([A-Za-z_][A-Za-z0-9_]*)["']"""
)


def bicep_settings() -> set[str]:
    block = BICEP.split("// APP SETTINGS BEGIN", 1)[1].split("// APP SETTINGS END", 1)[0]
    return set(re.findall(r"name: '([^']+)'", block))


def test_bicep_sets_every_catalogued_azure_setting_and_nothing_unknown() -> None:
    deployed = bicep_settings()
    wanted = {s.name for s in app_settings.SETTINGS if not s.local_only}
    assert wanted - deployed == set()
    assert {name for name in deployed - wanted if not HOST_OWNED.match(name)} == set()


def test_secrets_are_key_vault_references_in_azure() -> None:
    for setting in (s for s in app_settings.SETTINGS if s.secret and s.name != "EVENTGRID_TOPIC_KEY"):
        assert re.search(rf"name: '{setting.name}', value: '\$\{{kvRef\}}", BICEP), setting.name


def test_local_settings_example_lists_every_catalogued_setting() -> None:
    values = json.loads((REPO / "local.settings.example.json").read_text())["Values"]
    assert {s.name for s in app_settings.SETTINGS} - set(values) == set()


def test_host_json_takes_the_hub_name_from_the_catalogued_setting() -> None:
    host = json.loads((REPO / "host.json").read_text())
    assert host["extensions"]["durableTask"]["hubName"] == "%DURABLE_TASK_HUB%"
    assert "DURABLE_TASK_HUB" in app_settings.BY_NAME


def test_every_setting_the_code_reads_is_catalogued() -> None:
    sources = [
        p for p in REPO.rglob("*.py")
        if not {".venv", "node_modules", "tests"} & set(p.relative_to(REPO).parts)
    ]  # fmt: skip
    read = {name for path in sources for name in READS.findall(path.read_text())}
    bindings = set(re.findall(r"%([A-Za-z_][A-Za-z0-9_]*)%", (REPO / "function_app.py").read_text()))
    assert (read | bindings) - set(app_settings.BY_NAME) == set()


def test_bicep_brackets_balance_and_every_param_is_used() -> None:
    code = re.sub(r"//[^\n]*|'(?:[^'\\]|\\.)*'", "", BICEP)
    for opening, closing in ("{}", "[]", "()"):
        assert code.count(opening) == code.count(closing)
    for param in re.findall(r"^param (\w+)", BICEP, flags=re.MULTILINE):
        assert len(re.findall(rf"\b{param}\b", BICEP)) > 1, param
