"""The deployment files agree with the settings catalogue and with each other.

`app_settings.SETTINGS` is the one list of settings the code reads. These tests hold the Bicep
(`infra/main.bicep` sets every app setting in one delimited block), `local.settings.example.json`,
`host.json`, the azd files and `.funcignore` to it, and scan the Python sources so that reading a new,
uncatalogued setting fails here rather than in Azure.

The Bicep compiler cannot run on these machines, so the Bicep is read as text: a small scanner strips
comments and string literals (keeping `${...}` interpolations as code), and the checks the compiler would
make first (brackets, module paths, parameters passed and declared, outputs used and declared) are made here.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import yaml

import app_settings

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MAIN = INFRA / "main.bicep"
BICEP_FILES = sorted([MAIN, *(INFRA / "modules").glob("*.bicep")])

# Settings the platform or the Functions host reads, not our code, that the Bicep may set besides the catalogue.
# The identity-based parts of a host connection (`AzureWebJobsStorage__credential`, `EXPORTS_QUEUE__clientId`,
# ...) are allowed by rule, see `host_owned`; the connection itself is catalogued as local_only.
# PYTHON_ISOLATE_WORKER_DEPENDENCIES makes the Python worker import the app's azure-functions, not its own.
HOST_OWNED = frozenset(
    {
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "PYTHON_ISOLATE_WORKER_DEPENDENCIES",
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

# Built-in role definitions the app's identity needs (ids are the same in every tenant).
APP_ROLES = {
    "storageBlobDataOwner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "storageQueueDataContributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "storageTableDataContributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "keyVaultSecretsUser": "4633458b-17de-408a-b874-0445c86b69e6",
    "eventGridDataSender": "d5a91429-5739-47e2-a06b-3470a27159e7",
    "monitoringMetricsPublisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}

IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
BINDING_EXPRESSION = re.compile(rf"%({IDENTIFIER})%")


# --- reading Bicep as text -------------------------------------------------------------------------------


def code_only(text: str) -> str:
    """Bicep text without comments and string literals; `${...}` interpolations stay, as code.

    Raises ValueError on a string or block comment left open at the end of the text.
    """
    out: list[str] = []
    modes = ["code"]  # "code", "string", or "interp" (code inside `${...}` of a string)
    depths = [0]  # brace depth per code/interp frame, to find the `}` that closes an interpolation
    i = 0
    while i < len(text):
        mode, char = modes[-1], text[i]
        if mode == "string":
            if char == "\\":
                i += 2
            elif char == "'":
                modes.pop()
                depths.pop()
                out.append(" ")  # a removed string still separates what stands around it
                i += 1
            elif text.startswith("${", i):
                modes.append("interp")
                depths.append(0)
                out.append(" ")
                i += 2
            else:
                i += 1
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ValueError("unterminated block comment")
            i = end + 2
        elif text.startswith("'''", i):
            end = text.find("'''", i + 3)
            if end < 0:
                raise ValueError("unterminated multi-line string")
            i = end + 3
        elif char == "'":
            modes.append("string")
            depths.append(0)
            i += 1
        elif mode == "interp" and char == "}" and depths[-1] == 0:
            modes.pop()
            depths.pop()
            out.append(" ")
            i += 1
        else:
            if char == "{":
                depths[-1] += 1
            elif char == "}":
                depths[-1] -= 1
            out.append(char)
            i += 1
    if modes != ["code"]:
        raise ValueError(f"unterminated string or interpolation ({modes[-1]})")
    return "".join(out)


@cache
def raw(path: Path) -> str:
    return path.read_text()


@cache
def code(path: Path) -> str:
    return code_only(raw(path))


def declarations(path: Path, keyword: str) -> dict[str, str | None]:
    """`param`/`var`/`output` names of a Bicep file, each with the text after `=` on its line (None if none)."""
    found: dict[str, str | None] = {}
    for match in re.finditer(rf"^{keyword} ({IDENTIFIER})\b([^=\n]*)(?:=(.*))?$", raw(path), flags=re.MULTILINE):
        found[match.group(1)] = match.group(3).strip() if match.group(3) is not None else None
    return found


def block_after(text: str, start: int) -> str:
    """The text inside the `{...}` whose opening brace is the first one at or after `start`."""
    opening = text.index("{", start)
    depth = 0
    for index in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[opening + 1 : index]
    raise ValueError("unbalanced braces")


def top_level_keys(block: str) -> set[str]:
    """Keys of an object literal's body (`key: value` lines at its own nesting level)."""
    keys: set[str] = set()
    depth = 0
    for line in block.splitlines():
        match = re.match(rf"\s*({IDENTIFIER})\s*:", line)
        if depth == 0 and match:
            keys.add(match.group(1))
        depth += line.count("{") + line.count("[") - line.count("}") - line.count("]")
    return keys


def modules() -> dict[str, Path]:
    """Symbolic name of each module main.bicep calls, with its file."""
    return {
        name: (INFRA / relative).resolve()
        for name, relative in re.findall(rf"^module ({IDENTIFIER}) '([^']+)'", raw(MAIN), flags=re.MULTILINE)
    }


def app_settings_block() -> dict[str, str]:
    """The app settings main.bicep deploys, name to Bicep expression, from the delimited block."""
    text = raw(MAIN)
    assert text.count("// APP SETTINGS BEGIN") == 1
    assert text.count("// APP SETTINGS END") == 1
    block = text.split("// APP SETTINGS BEGIN", 1)[1].split("// APP SETTINGS END", 1)[0]
    assert re.search(r"^var appSettings = \{$", block, flags=re.MULTILINE), "the block defines var appSettings"
    assert re.search(r"^\s*appSettings: appSettings$", raw(MAIN), flags=re.MULTILINE), "and passes it to the app"
    settings: dict[str, str] = {}
    for line in block.splitlines():
        match = re.match(rf"^  ({IDENTIFIER}): (.+)$", line)
        if match:
            assert match.group(1) not in settings, f"{match.group(1)} is set twice"
            settings[match.group(1)] = match.group(2).strip()
    return settings


def literal_default(expression: str) -> str | None:
    """What a setting's Bicep expression evaluates to by default, when that is knowable from the text."""
    expression = expression.strip()
    if re.fullmatch(r"'[^'$]*'", expression):
        return expression[1:-1]
    if re.fullmatch(r"-?\d+", expression):
        return expression
    converted = re.fullmatch(rf"string\(({IDENTIFIER})\)", expression)
    if converted:
        expression = converted.group(1)
    if re.fullmatch(IDENTIFIER, expression):
        for keyword in ("param", "var"):
            value = declarations(MAIN, keyword).get(expression)
            if value is not None:
                return literal_default(value)
    return None


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
    assert catalogued(local_only=False) - set(app_settings_block()) == set()


def test_bicep_deploys_no_setting_the_catalogue_does_not_know() -> None:
    unknown = {name for name in app_settings_block() if name not in app_settings.BY_NAME and not host_owned(name)}
    assert unknown == set()


def test_bicep_deploys_no_local_only_setting() -> None:
    assert catalogued(local_only=True) & set(app_settings_block()) == set()


def test_bicep_sets_no_setting_the_flex_consumption_plan_replaced() -> None:
    assert FLEX_UNSUPPORTED & set(app_settings_block()) == set()
    assert "functionAppConfig" in raw(INFRA / "modules" / "function-app.bicep")


def test_deployed_defaults_are_the_catalogued_defaults() -> None:
    deployed = app_settings_block()
    for setting in app_settings.SETTINGS:
        if setting.default is not None and not setting.local_only:
            assert literal_default(deployed[setting.name]) == setting.default, setting.name


def test_secret_settings_are_key_vault_references_or_empty_never_values() -> None:
    deployed = app_settings_block()
    reference = declarations(MAIN, "var")["keyVaultReference"]
    assert reference is not None
    assert reference.startswith("'@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/")
    stored = dict(re.findall(rf"'\$\{{secretNames\.({IDENTIFIER})\}}': ({IDENTIFIER})", raw(MAIN)))
    secure_params = set(re.findall(rf"@secure\(\)\n(?:@.*\n)*param ({IDENTIFIER})", raw(MAIN)))
    for setting in (s for s in app_settings.SETTINGS if s.secret):
        value = deployed[setting.name]
        if setting.name == "EVENTGRID_TOPIC_KEY":
            assert value == "''", "the topic has local auth disabled: no key exists, the identity sends"
            continue
        match = re.fullmatch(
            rf"empty\(({IDENTIFIER})\) \? '' : '\$\{{keyVaultReference\}}\$\{{secretNames\.({IDENTIFIER})\}}\)'",
            value,
        )
        assert match, f"{setting.name} must be a Key Vault reference (or empty), not {value}"
        guard, secret = match.groups()
        assert guard in secure_params, f"{guard} must be a @secure() parameter"
        assert stored.get(secret) == guard, f"{setting.name} must reference the secret its parameter is stored in"


def test_every_host_connection_has_an_identity_based_form_in_azure() -> None:
    deployed = app_settings_block()
    for connection in trigger_connections():
        assert app_settings.BY_NAME[connection].local_only, f"{connection}: locally a connection string"
        assert deployed.get(f"{connection}__credential") == "'managedidentity'", connection
        assert deployed.get(f"{connection}__clientId") == "identity.properties.clientId", connection
        endpoints = {"accountName", "serviceUri", "blobServiceUri", "queueServiceUri", "tableServiceUri"}
        assert {f"{connection}__{suffix}" for suffix in endpoints} & set(deployed), connection
    assert deployed["AZURE_CLIENT_ID"] == "identity.properties.clientId"
    assert deployed["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "'Authorization=AAD;ClientId=${identity.properties.clientId}'"
    )


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


# --- Bicep sanity: what the compiler would reject first --------------------------------------------------


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.name)
def test_bicep_brackets_balance_and_strings_close(path: Path) -> None:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in code(path):  # raises on an unterminated string or comment
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            assert stack, f"unexpected {char!r} in {path.name}"
            assert stack.pop() == pairs[char], f"unexpected {char!r} in {path.name}"
    assert stack == [], f"unclosed {stack} in {path.name}"


def test_every_module_path_exists() -> None:
    assert modules(), "main.bicep calls its modules"
    for name, path in modules().items():
        assert path.is_file(), f"module {name}: {path} is missing"


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.name)
def test_every_param_and_var_is_used(path: Path) -> None:
    text = code(path)
    for keyword in ("param", "var"):
        for name in declarations(path, keyword):
            # neither a member access (`x.name`) nor a property key (`{ name: ...`) is a use
            mentions = len(re.findall(rf"(?<![.\w]){name}\b", text))
            keys = len(re.findall(rf"(?:^|[{{,])[ \t]*{name}[ \t]*:", text, flags=re.MULTILINE))
            assert mentions - keys > 1, f"{keyword} {name} is never used in {path.name}"


def test_module_calls_pass_every_required_param_and_only_declared_ones() -> None:
    text = code(MAIN)
    for name, path in modules().items():
        call = re.search(rf"^module {name}\b", text, flags=re.MULTILINE)
        assert call, f"module {name} is not called"
        body = block_after(text, call.start())
        passed = top_level_keys(block_after(body, body.index("params:")))
        declared = declarations(path, "param")
        required = {param for param, default in declared.items() if default is None}
        assert passed - set(declared) == set(), f"module {name} passes unknown params"
        assert required - passed == set(), f"module {name} misses required params"


def test_module_outputs_main_uses_are_declared() -> None:
    used = set(re.findall(rf"\b({IDENTIFIER})\.outputs\.({IDENTIFIER})", code(MAIN)))
    assert used
    for name, output in used:
        assert output in declarations(modules()[name], "output"), f"{name}.outputs.{output} is not declared"


def test_api_versions_are_stable_and_consistent_per_resource_type() -> None:
    versions: dict[str, set[str]] = {}
    for path in BICEP_FILES:
        for kind, version in re.findall(r"'(Microsoft\.[\w./]+)@([\w-]+)'", raw(path)):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", version), f"{kind}@{version} in {path.name} is not stable"
            versions.setdefault(kind, set()).add(version)
    assert {kind: v for kind, v in versions.items() if len(v) > 1} == {}


def test_azd_parameters_map_declared_params_and_every_required_one() -> None:
    mapped = set(json.loads((INFRA / "main.parameters.json").read_text())["parameters"])
    declared = declarations(MAIN, "param")
    assert mapped - set(declared) == set()
    assert {name for name, default in declared.items() if default is None} - mapped == set()


# --- the app's identity, azd, and the package ------------------------------------------------------------


def test_app_identity_is_granted_every_role_the_pipeline_needs() -> None:
    access = raw(INFRA / "modules" / "access.bicep")
    for role, guid in APP_ROLES.items():
        assert f"{role}: '{guid}'" in access, role
        assert re.search(rf"roles\.{role}\b", code(INFRA / "modules" / "access.bicep")), f"{role} is never assigned"
    assert "principalType: 'ServicePrincipal'" in access  # a managed identity, assigned without replication lag
    assert re.search(r"^\s*appPrincipalId: identity\.properties\.principalId$", raw(MAIN), flags=re.MULTILINE)


def test_token_cache_container_is_deployed_and_only_it_is_writable_by_who_signs_in() -> None:
    from targets.model import DEFAULT_CACHE_CONTAINER

    main, access = raw(MAIN), raw(INFRA / "modules" / "access.bicep")
    assert f"var tokenCacheContainerName = '{DEFAULT_CACHE_CONTAINER}'" in main
    assert re.search(r"containerNames: \[[^\]]*\btokenCacheContainerName\b", main)
    assert "storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'" in access
    granted = re.findall(r"scope: (\w+)\n(?:.*\n){1,3}?.*roles\.storageBlobDataContributor", access)
    assert granted == ["tokenCaches"]
    assert "name: '${storageAccountName}/default/${tokenCacheContainerName}'" in access


def test_function_app_is_tagged_as_the_azd_service_and_waits_for_its_roles() -> None:
    services = yaml.safe_load((REPO / "azure.yaml").read_text())["services"]
    assert services == {"api": {"project": ".", "language": "python", "host": "function"}}
    assert re.search(r"^\s*serviceName: 'api'$", raw(MAIN), flags=re.MULTILINE)
    assert "'azd-service-name': serviceName" in raw(INFRA / "modules" / "function-app.bicep")
    assert re.search(r"^\s*dependsOn: \[access\]$", raw(MAIN), flags=re.MULTILINE)


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
    deployed = literal_default(app_settings_block()[setting])
    assert deployed is not None, "the Bicep deploys a literal default hub name"
    return {
        "app_settings.py": str(app_settings.BY_NAME[setting].default),
        "local.settings.example.json": json.loads((REPO / "local.settings.example.json").read_text())["Values"][
            setting
        ],
        "infra/main.bicep": deployed,
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
    bicep = re.search(r"@minLength\((\d+)\)\n@maxLength\((\d+)\)\nparam durableTaskHub string", raw(MAIN))
    assert bicep, "the Bicep bounds the hub name's length"
    assert (int(bicep.group(1)), int(bicep.group(2))) == (3, 45)


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


def test_the_durable_group_has_an_always_ready_instance_set_by_a_parameter() -> None:
    module = INFRA / "modules" / "function-app.bicep"
    scale = block_after(code(module), code(module).index("scaleAndConcurrency:"))
    assert "alwaysReady:" in scale
    assert "name: 'durable'" in raw(module)
    assert re.search(r"instanceCount: durableAlwaysReadyInstances\b", scale)
    for path in (MAIN, module):
        declared = re.search(
            r"@minValue\((\d+)\)\n@maxValue\((\d+)\)\nparam durableAlwaysReadyInstances int = (\d+)$",
            raw(path),
            flags=re.MULTILINE,
        )
        assert declared, f"{path.name}: durableAlwaysReadyInstances is a bounded int parameter with a default"
        assert declared.groups() == ("0", "40", "1"), "billed while idle: default 1, 0 allowed"
    assert re.search(r"^\s*durableAlwaysReadyInstances: durableAlwaysReadyInstances$", raw(MAIN), flags=re.MULTILINE)
