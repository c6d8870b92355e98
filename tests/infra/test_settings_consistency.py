"""The deployment files agree with the settings catalogue and with each other.

`app_settings.SETTINGS` is the one list of settings the code reads. These tests hold the Bicep (the app
settings `infra/main.bicep` builds in `var appSettings`, read from the parsed tree, see `tests/infra/bicep.py`),
`local.settings.example.json`, `host.json` and `.funcignore` to it, and scan the Python sources so that reading a
new, uncatalogued setting fails here rather than in Azure.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import app_settings
from tests.infra.bicep import MAIN, REPO, Node, accessor, decorators, module_params, resolve, variable

# Settings the platform or the Functions host reads, not our code, that the Bicep may set besides the catalogue.
# The identity-based parts of a host connection (`AzureWebJobsStorage__credential`, `EXPORTS_QUEUE__clientId`,
# ...) are allowed by rule, see `host_owned`; the connection itself is catalogued as local_only.
# PYTHON_ISOLATE_WORKER_DEPENDENCIES makes the Python worker import the app's azure-functions, not its own.
HOST_OWNED = frozenset(
    {
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "PYTHON_ISOLATE_WORKER_DEPENDENCIES",
        "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY",
    }
)

# App settings the Flex Consumption plan has replaced with `functionAppConfig` or does not support; setting them
# fails the deployment or is silently ignored. FUNCTIONS_EXTENSION_VERSION is set by the platform on Flex.
FLEX_UNSUPPORTED = frozenset(
    {
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_WORKER_RUNTIME_VERSION",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
        "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
        "WEBSITE_NODE_DEFAULT_VERSION",
        "WEBSITE_TIME_ZONE",
        "TZ",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "ENABLE_ORYX_BUILD",
    }
)

# Local-only names local.settings.json needs for the Functions host itself (Core Tools).
LOCAL_HOST_SETTINGS = frozenset(
    {"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsFeatureFlags", "PYTHON_ISOLATE_WORKER_DEPENDENCIES"}
)

BINDING_EXPRESSION = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)%")


def deployed() -> dict[str, Node]:
    """The app settings main.bicep deploys, name to the parsed expression of its value."""
    settings: dict[str, Node] = variable(MAIN, "appSettings")
    return settings


def catalogued(*, local_only: bool | None = None) -> set[str]:
    return {s.name for s in app_settings.SETTINGS if local_only is None or s.local_only == local_only}


def host_owned(name: str) -> bool:
    """A host setting, or an identity-based part of a host connection (`EXPORTS_QUEUE__clientId`)."""
    connection, separator, _ = name.partition("__")
    return name in HOST_OWNED or (bool(separator) and connection in trigger_connections())


def trigger_connections() -> set[str]:
    """Connections the Functions host opens: its own storage and every binding's `connection=`."""
    named = re.findall(r"""connection\s*=\s*["'](\w+)["']""", (REPO / "function_app.py").read_text())
    return {"AzureWebJobsStorage", *named}


# --- reading Python --------------------------------------------------------------------------------------


def dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return ""


def literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


ENVIRON = {"os.environ", "environ"}
READ_CALLS = {"os.environ.get", "environ.get", "os.getenv", "getenv", "app_settings.get"}
READ_MAPPINGS = ENVIRON | {"app_settings.BY_NAME"}


def settings_read_by(source: str) -> set[str]:
    """Literal setting names a module reads: `os.environ[...]` (not assignments), `os.environ.get(...)`,
    `os.getenv(...)`, `"X" in os.environ`, `app_settings.get(...)` and `app_settings.BY_NAME[...]`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        name: str | None = None
        if isinstance(node, ast.Call) and node.args and dotted(node.func) in READ_CALLS:
            name = literal(node.args[0])
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and dotted(node.value) in READ_MAPPINGS:
            name = literal(node.slice)
        elif (
            isinstance(node, ast.Compare)
            and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
            and any(dotted(c) in ENVIRON for c in node.comparators)
        ):
            name = literal(node.left)
        if name is not None:
            names.add(name)
    return names


def python_sources() -> Iterator[Path]:
    """The repository's own Python: everything but environments, dependencies, caches and the tests."""
    for path in sorted(REPO.rglob("*.py")):
        parts = path.relative_to(REPO).parts[:-1]
        if not any(part in {"node_modules", "tests"} or part.startswith(".") for part in parts):
            yield path


# --- the settings: catalogue, Bicep, local settings, host.json, code --------------------------------------


def test_bicep_deploys_every_setting_the_code_reads_in_azure() -> None:
    assert catalogued(local_only=False) - set(deployed()) == set()


def test_bicep_deploys_no_setting_the_catalogue_does_not_know() -> None:
    unknown = {name for name in deployed() if name not in app_settings.BY_NAME and not host_owned(name)}
    assert unknown == set()


def test_bicep_deploys_no_local_only_setting() -> None:
    assert catalogued(local_only=True) & set(deployed()) == set()


def test_bicep_sets_no_setting_the_flex_consumption_plan_replaced() -> None:
    assert FLEX_UNSUPPORTED & set(deployed()) == set()


def test_deployed_defaults_are_the_catalogued_defaults() -> None:
    settings = deployed()
    for setting in app_settings.SETTINGS:
        if setting.default is not None and not setting.local_only:
            assert resolve(MAIN, settings[setting.name]) == setting.default, setting.name


def key_vault_reference(value: Node) -> tuple[str, str] | None:
    """(param, secret name) of `empty(param) ? '' : '${keyVaultReference}${secretNames.x})'`, else None."""
    operator = value.get("operator", {}) if isinstance(value, dict) else {}
    if operator.get("type") != "conditional":
        return None
    operands = operator["operands"]
    guard = operands["condition"].get("function", {})
    reference = re.fullmatch(r"\$\{keyVaultReference\}(\$\{secretNames\.\w+\})\)", str(operands["false_value"]))
    if guard.get("type") != "empty" or operands["true_value"] != "" or not reference:
        return None
    return guard["parameters"]["item_to_test"], reference.group(1)


def test_secret_settings_are_key_vault_references_or_empty_never_values() -> None:
    settings = deployed()
    vault_secrets = "@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/"
    assert variable(MAIN, "keyVaultReference").startswith(vault_secrets)
    stored = {key.strip("'"): value for key, value in module_params("keyVault")["secrets"].items()}
    for setting in (s for s in app_settings.SETTINGS if s.secret):
        value = settings[setting.name]
        if setting.name == "EVENTGRID_TOPIC_KEY":
            assert value == "", "the topic has local auth disabled: no key exists, the identity sends"
            continue
        reference = key_vault_reference(value)
        assert reference, f"{setting.name} must be a Key Vault reference (or empty), not {value}"
        guard, secret = reference
        assert "secure" in decorators(MAIN, guard), f"{guard} must be a @secure() parameter"
        assert stored.get(secret) == guard, f"{setting.name} must reference the secret {guard} is stored in"


def test_a_secret_setting_is_read_as_a_key_vault_reference_only_in_the_guarded_form() -> None:
    def conditional(condition: Node, true_value: Node, false_value: Node) -> Node:
        operands = {"condition": condition, "true_value": true_value, "false_value": false_value}
        return {"operator": {"type": "conditional", "operands": operands}}

    empty_p = {"function": {"type": "empty", "parameters": {"item_to_test": "p"}}}
    guarded = conditional(empty_p, "", "${keyVaultReference}${secretNames.p})")
    assert key_vault_reference(guarded) == ("p", "${secretNames.p}")
    assert key_vault_reference("p") is None
    assert key_vault_reference("${keyVaultReference}${secretNames.p})") is None
    assert key_vault_reference(conditional(empty_p, "p", "${keyVaultReference}${secretNames.p})")) is None
    assert key_vault_reference(conditional(empty_p, "", "p")) is None


def test_every_host_connection_has_an_identity_based_form_in_azure() -> None:
    settings, client_id = deployed(), accessor("identity.properties.clientId")
    for connection in trigger_connections():
        assert app_settings.BY_NAME[connection].local_only, f"{connection}: locally a connection string"
        assert settings.get(f"{connection}__credential") == "managedidentity", connection
        assert settings.get(f"{connection}__clientId") == client_id, connection
        endpoints = {"accountName", "serviceUri", "blobServiceUri", "queueServiceUri", "tableServiceUri"}
        assert {f"{connection}__{suffix}" for suffix in endpoints} & set(settings), connection
    assert settings["AZURE_CLIENT_ID"] == client_id
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "Authorization=AAD;ClientId=${identity.properties.clientId}"
    )


def test_the_token_cache_container_the_code_defaults_to_is_the_one_deployed() -> None:
    from targets.model import DEFAULT_CACHE_CONTAINER

    assert resolve(MAIN, "tokenCacheContainerName") == DEFAULT_CACHE_CONTAINER
    assert "tokenCacheContainerName" in module_params("storage")["containerNames"]


def test_local_settings_example_lists_every_catalogued_setting_and_nothing_else() -> None:
    values = json.loads((REPO / "local.settings.example.json").read_text())["Values"]
    assert set(values) - catalogued() - LOCAL_HOST_SETTINGS == set()
    assert catalogued() - set(values) == set()
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"


def test_local_settings_example_runs_on_azurite_with_the_catalogued_defaults() -> None:
    document = json.loads((REPO / "local.settings.example.json").read_text())
    assert document["IsEncrypted"] is False
    values = document["Values"]
    for connection in ("AzureWebJobsStorage", "EXPORTS_QUEUE", "EXPORTS_STORAGE_CONNECTION_STRING"):
        assert values[connection] == "UseDevelopmentStorage=true", connection
    for setting in app_settings.SETTINGS:
        if setting.default is not None:
            assert values[setting.name] == setting.default, setting.name


def test_local_settings_example_holds_no_secret_values() -> None:
    values = json.loads((REPO / "local.settings.example.json").read_text())["Values"]
    for setting in (s for s in app_settings.SETTINGS if s.secret):
        assert re.fullmatch(r"|<[^>]*>", values[setting.name]), f"{setting.name} must be empty or a <placeholder>"


def test_host_json_takes_the_hub_name_and_every_expression_from_catalogued_settings() -> None:
    text = (REPO / "host.json").read_text()
    assert json.loads(text)["extensions"]["durableTask"]["hubName"] == "%DURABLE_TASK_HUB%"
    assert set(BINDING_EXPRESSION.findall(text)) - catalogued() == set()


def test_host_json_keeps_request_headers_out_of_logs() -> None:
    host = json.loads((REPO / "host.json").read_text())
    levels = host["logging"]["logLevel"]
    assert levels["System.Net.Http.HttpClient"] == "Warning"
    assert levels["Azure.Core"] == "Warning"
    assert host["extensions"]["queues"]["messageEncoding"] == "base64", "the events publisher base64-encodes"


def test_every_setting_the_code_reads_is_catalogued() -> None:
    read = {name: path for path in python_sources() for name in settings_read_by(path.read_text())}
    bindings = set(BINDING_EXPRESSION.findall((REPO / "function_app.py").read_text()))
    assert bindings, "function_app.py binds %EXPORT_SCHEDULE% and %EXPORTS_EVENTS_QUEUE%"
    uncatalogued = {name: str(path.relative_to(REPO)) for name, path in read.items() if name not in catalogued()}
    assert uncatalogued == {}
    assert bindings - catalogued() == set()


def test_the_settings_scan_sees_reads_and_ignores_writes() -> None:
    source = """
import os
from os import environ, getenv
import app_settings
a = os.environ["READ_A"]
b = os.environ.get("READ_B", "x")
c = os.getenv("READ_C")
d = getenv("READ_D")
e = app_settings.get("READ_E")
f = "READ_F" in os.environ
g = app_settings.BY_NAME["READ_G"]
h = environ.get("READ_H")
os.environ["WRITTEN"] = "1"
os.environ.update(ALSO_WRITTEN="1")
os.environ.pop("REMOVED", None)
"""
    assert settings_read_by(source) == {f"READ_{letter}" for letter in "ABCDEFGH"}


# --- the package ------------------------------------------------------------------------------------------


def funcignore_excludes(name: str) -> bool:
    """Whether a top-level file or directory of the repository is left out of the package."""
    for line in (REPO / ".funcignore").read_text().splitlines():
        pattern = line.strip()
        if pattern and not pattern.startswith(("#", "!")) and fnmatch.fnmatchcase(name, pattern.strip("/")):
            return True
    return False


def runtime_top_level() -> set[str]:
    """Top-level files and packages of the repository that function_app.py needs, following imports."""
    needed: set[str] = set()
    pending = [REPO / "function_app.py"]
    while pending:
        path = pending.pop()
        for node in ast.walk(ast.parse(path.read_text())):
            modules_named = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                else []
            )
            for module in modules_named:
                top = module.split(".")[0]
                for candidate in (REPO / top, REPO / f"{top}.py"):
                    if candidate.exists() and candidate.name not in needed:
                        needed.add(candidate.name)
                        pending.extend(sorted(candidate.rglob("*.py")) if candidate.is_dir() else [candidate])
    return needed


def test_funcignore_keeps_what_the_app_runs_and_drops_development_files() -> None:
    runtime = runtime_top_level()
    assert {"app_settings.py", "activities", "orchestrators", "sinks"} <= runtime
    for name in sorted(runtime | {"function_app.py", "host.json", "requirements.txt"}):
        assert not funcignore_excludes(name), f".funcignore drops {name}, which the app needs at run time"
    for name in (".venv", "node_modules", "tests", "local", "benchmarks", "infra", ".git", ".azure", "README.md"):
        assert funcignore_excludes(name), f".funcignore should drop {name}"


# --- Durable Functions on Flex Consumption ------------------------------------------------------------------

# The Azure Storage backend's task hub names its queues, tables and containers after the hub, hence the rule.
TASK_HUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,44}")
MAX_QUEUE_POLLING_SECONDS = 10  # the Flex Consumption recommendation: queue messages are noticed within this


def is_valid_task_hub_name(name: str) -> bool:
    return TASK_HUB_NAME.fullmatch(name) is not None


def timespan_seconds(value: str) -> float:
    """Seconds of a .NET TimeSpan "hh:mm:ss[.fff]" (as host.json writes durations)."""
    match = re.fullmatch(r"(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)", value)
    if not match:
        raise ValueError(f"not an hh:mm:ss duration: {value!r}")
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def task_hub_names() -> dict[str, str]:
    """Every place that sets the task hub name, each with the name it sets (host.json's expression resolved)."""
    durable = json.loads((REPO / "host.json").read_text())["extensions"]["durableTask"]
    expression = BINDING_EXPRESSION.fullmatch(durable["hubName"])
    assert expression, "host.json reads the hub name from a setting"
    setting = expression.group(1)
    in_bicep = resolve(MAIN, deployed()[setting])
    assert in_bicep is not None, "the Bicep deploys a literal default hub name"
    return {
        "app_settings.py": str(app_settings.BY_NAME[setting].default),
        "local.settings.example.json": json.loads((REPO / "local.settings.example.json").read_text())["Values"][
            setting
        ],
        "infra/main.bicep": in_bicep,
    }


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("exportjobs", True),
        ("abc", True),
        ("A" + "1" * 44, True),
        ("ab", False),
        ("A" + "1" * 45, False),
        ("export-jobs", False),
        ("export_jobs", False),
        ("1exportjobs", False),
        ("", False),
    ],
)
def test_the_task_hub_rule_takes_3_to_45_alphanumerics_starting_with_a_letter(name: str, valid: bool) -> None:
    assert is_valid_task_hub_name(name) is valid


def test_every_task_hub_name_the_project_sets_obeys_the_rule() -> None:
    names = task_hub_names()
    assert {where: name for where, name in names.items() if not is_valid_task_hub_name(name)} == {}
    assert len(set(names.values())) == 1, f"one hub name everywhere, not {names}"
    bounds = decorators(MAIN, "durableTaskHub")
    assert (bounds.get("min_length"), bounds.get("max_length")) == (3, 45), "the Bicep bounds it as the rule does"


def test_durable_uses_azure_storage_polling_its_queues_at_least_every_10_seconds() -> None:
    provider = json.loads((REPO / "host.json").read_text())["extensions"]["durableTask"]["storageProvider"]
    assert provider.get("type", "AzureStorage") == "AzureStorage", "Azure Storage is the backend on Flex"
    assert timespan_seconds(provider["maxQueuePollingInterval"]) <= MAX_QUEUE_POLLING_SECONDS


def test_host_json_durations_read_as_timespans() -> None:
    assert timespan_seconds("00:00:10") == 10
    assert timespan_seconds("00:01:00") == 60
    assert timespan_seconds("00:00:02.5") == 2.5
    with pytest.raises(ValueError, match="hh:mm:ss"):
        timespan_seconds("10s")
