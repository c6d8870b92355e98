"""The Bicep parses, its modules are wired to what they declare, and the security it promises is in it.

No Bicep compiler runs here: pycep-parser reads every file (a syntax error fails here), and the checks the
compiler would make next (module paths, params passed and declared, outputs used and declared, unused
declarations) are made on the parsed trees, as are the properties the deployment relies on for security
(no shared keys, Entra ID only, TLS 1.2, the identity's roles). See `tests/infra/bicep.py` for the parser's limits.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.infra.bicep import (
    BICEP_FILES,
    INFRA,
    MAIN,
    MODULES,
    REPO,
    Node,
    accessor,
    at,
    chains,
    decorators,
    module_params,
    modules,
    params,
    parsed,
    references,
    required_params,
    resource,
    section,
    variable,
)

ACCESS = MODULES / "access.bicep"
FUNCTION_APP = MODULES / "function-app.bicep"

# Built-in role definitions the app's identity needs (ids are the same in every tenant).
APP_ROLES = {
    "storageBlobDataOwner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "storageQueueDataContributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "storageTableDataContributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "keyVaultSecretsUser": "4633458b-17de-408a-b874-0445c86b69e6",
    "eventGridDataSender": "d5a91429-5739-47e2-a06b-3470a27159e7",
    "monitoringMetricsPublisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}
BLOB_DATA_CONTRIBUTOR = ("storageBlobDataContributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe")

# What the deployment promises about access, as (file, resource, property path, value): no shared keys or local
# auth anywhere (Entra ID and RBAC only), TLS 1.2 at least, nothing public, the identity for Key Vault and the
# deployment package.
SECURITY = [
    ("storage.bicep", "account", "properties.allowSharedKeyAccess", False),
    ("storage.bicep", "account", "properties.defaultToOAuthAuthentication", True),
    ("storage.bicep", "account", "properties.allowBlobPublicAccess", False),
    ("storage.bicep", "account", "properties.minimumTlsVersion", "TLS1_2"),
    ("storage.bicep", "account", "properties.supportsHttpsTrafficOnly", True),
    ("storage.bicep", "containers", "properties.publicAccess", "None"),
    ("event-grid.bicep", "topic", "properties.disableLocalAuth", True),
    ("event-grid.bicep", "topic", "properties.minimumTlsVersionAllowed", "1.2"),
    ("key-vault.bicep", "vault", "properties.enableRbacAuthorization", True),
    ("monitoring.bicep", "insights", "properties.DisableLocalAuth", True),
    ("function-app.bicep", "app", "properties.httpsOnly", True),
    ("function-app.bicep", "app", "properties.siteConfig.minTlsVersion", "1.2"),
    ("function-app.bicep", "app", "properties.keyVaultReferenceIdentity", "identityId"),
    (
        "function-app.bicep",
        "app",
        "properties.functionAppConfig.deployment.storage.authentication.type",
        "UserAssignedIdentity",
    ),
]


# --- what the compiler would reject first ----------------------------------------------------------------


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.name)
def test_every_bicep_file_parses(path: Path) -> None:
    assert parsed(path)


def test_every_module_path_exists() -> None:
    assert modules(), "main.bicep calls its modules"
    for name, path in modules().items():
        assert path.is_file(), f"module {name}: {path} is missing"


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.name)
def test_every_param_and_var_is_used(path: Path) -> None:
    declared = set(params(path)) | set(section(path, "variables"))
    assert declared - references(path) == set(), f"declared but never used in {path.name}"


def test_module_calls_pass_every_required_param_and_only_declared_ones() -> None:
    for name, path in modules().items():
        passed = set(module_params(name))
        assert passed - set(params(path)) == set(), f"module {name} passes unknown params"
        assert required_params(path) - passed == set(), f"module {name} misses required params"


def test_module_outputs_main_uses_are_declared() -> None:
    used = {tuple(chain.split(".")[:3]) for chain in chains(parsed(MAIN)) if chain.count(".") >= 2}
    used = {chain for chain in used if chain[0] in modules() and chain[1] == "outputs"}
    assert used, "main.bicep reads its modules' outputs"
    for name, _, output in used:
        assert output in section(modules()[name], "outputs"), f"{name}.outputs.{output} is not declared"


def test_api_versions_are_stable_and_consistent_per_resource_type() -> None:
    versions: dict[str, set[str]] = {}
    for path in BICEP_FILES:
        for declared in section(path, "resources").values():
            kind, version = declared["type"], declared["api_version"]
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", version), f"{kind}@{version} in {path.name} is not stable"
            versions.setdefault(kind, set()).add(version)
    assert {kind: v for kind, v in versions.items() if len(v) > 1} == {}


def test_azd_parameters_map_declared_params_and_every_required_one() -> None:
    mapped = set(json.loads((INFRA / "main.parameters.json").read_text())["parameters"])
    assert mapped - set(params(MAIN)) == set()
    assert required_params(MAIN) - mapped == set()


# --- security the deployment relies on -------------------------------------------------------------------


@pytest.mark.parametrize(("file", "name", "path", "value"), SECURITY, ids=lambda v: str(v))
def test_security_properties_hold(file: str, name: str, path: str, value: Node) -> None:
    assert at(resource(MODULES / file, name), *path.split(".")) == value


def assignments(principal: str) -> dict[str, Node]:
    """access.bicep's role assignments to a principal param, symbolic name to body (a loop's body for a loop)."""
    return {
        name: resource(ACCESS, name)
        for name, declared in section(ACCESS, "resources").items()
        if declared["type"] == "Microsoft.Authorization/roleAssignments"
        and resource(ACCESS, name)["properties"]["principalId"] == principal
    }


def granted(principal: str) -> dict[str, set[str]]:
    """Roles (keys of access.bicep's `roles`) assigned to a principal param, each with the scopes it is granted on;
    a role reached through a var (a loop over `appStorageRoles`) counts."""
    grants: dict[str, set[str]] = {}
    for name, body in assignments(principal).items():
        mentioned = set(chains(section(ACCESS, "resources")[name]["config"]))
        variables = section(ACCESS, "variables")
        mentioned |= {chain for var in mentioned if var in variables for chain in chains(variable(ACCESS, var))}
        for chain in mentioned:
            head, _, role = chain.partition(".")
            if head == "roles":
                grants.setdefault(role, set()).add(body["scope"])
    return grants


def test_app_identity_is_granted_every_role_the_pipeline_needs_as_a_service_principal() -> None:
    roles = variable(ACCESS, "roles")
    assert {role: roles.get(role) for role in APP_ROLES} == APP_ROLES, "built-in role ids"
    assert set(APP_ROLES) <= set(granted("appPrincipalId"))
    # a managed identity: assigned as a service principal, without waiting for directory replication
    principal_types = {body["properties"]["principalType"] for body in assignments("appPrincipalId").values()}
    assert principal_types == {"ServicePrincipal"}
    assert module_params("access")["appPrincipalId"] == accessor("identity.properties.principalId")


def test_who_signs_in_may_write_the_token_cache_container_and_no_other() -> None:
    role, guid = BLOB_DATA_CONTRIBUTOR
    assert variable(ACCESS, "roles")[role] == guid
    writers = {principal for principal in ("appPrincipalId", "developerPrincipalId") if role in granted(principal)}
    assert writers == {"developerPrincipalId"}
    assert granted("developerPrincipalId")[role] == {"tokenCaches"}
    assert resource(ACCESS, "tokenCaches")["name"] == "${storageAccountName}/default/${tokenCacheContainerName}"
    assert module_params("access")["tokenCacheContainerName"] == "tokenCacheContainerName"


# --- azd and the Function App --------------------------------------------------------------------------------


def test_function_app_is_tagged_as_the_azd_service_and_waits_for_its_roles() -> None:
    services = yaml.safe_load((REPO / "azure.yaml").read_text())["services"]
    assert services == {"api": {"project": ".", "language": "python", "host": "function"}}
    assert module_params("functionApp")["serviceName"] in services
    tags = resource(FUNCTION_APP, "app")["tags"]["function"]  # union(tags, {...}); pycep keeps a key's quotes
    assert tags["type"] == "union"
    assert {"'azd-service-name'": "serviceName"} in tags["parameters"].values()
    assert section(MAIN, "modules")["functionApp"]["config"]["dependsOn"] == ["access"]


def test_the_function_app_deploys_the_app_settings_main_builds_as_site_settings() -> None:
    assert module_params("functionApp")["appSettings"] == "appSettings"
    settings = resource(FUNCTION_APP, "app")["properties"]["siteConfig"]["appSettings"]
    items = {"function": {"type": "items", "parameters": {"arg_1": "appSettings"}}}
    assert settings["loop_type"]["detail"]["array_name"] == items
    assert settings["config"] == {"name": accessor("setting.key"), "value": accessor("setting.value")}


def test_the_flex_consumption_plan_is_configured_in_function_app_config() -> None:
    config = resource(FUNCTION_APP, "app")["properties"]["functionAppConfig"]
    assert {"deployment", "scaleAndConcurrency", "runtime"} <= set(config)


def test_the_durable_group_has_an_always_ready_instance_count_set_by_a_parameter() -> None:
    always_ready = resource(FUNCTION_APP, "app")["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    groups = always_ready["alwaysReady"]["operator"]["operands"]["false_value"]
    assert groups == [{"name": "durable", "instanceCount": "durableAlwaysReadyInstances"}]
    bounds = [
        (decorators(path, "durableAlwaysReadyInstances"), params(path)["durableAlwaysReadyInstances"]["default"])
        for path in (MAIN, FUNCTION_APP)
    ]
    main, module = ((d["min_value"], d["max_value"], default) for d, default in bounds)
    assert main == module, "main.bicep and the module bound it alike"
    assert main[0] == 0, "0 instances (scale from zero, nothing billed while idle) stays possible"
    assert module_params("functionApp")["durableAlwaysReadyInstances"] == "durableAlwaysReadyInstances"
