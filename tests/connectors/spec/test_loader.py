"""Connector specs: the built-in ones load, and every malformed spec is refused with one line naming where."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.spec.loader import (
    BUILT_IN,
    SPECS_DIR_SETTING,
    SpecError,
    configured_specs,
    load_spec,
    load_specs,
    parse_spec_text,
)
from connectors.spec.schema import SCHEMA_FILE, schema_text

SEED = yaml.safe_load((BUILT_IN / "viva_goals.yaml").read_text(encoding="utf-8"))


def refused(change: Callable[[dict[str, Any]], object], text: str | None = None) -> str:
    document = copy.deepcopy(SEED)
    change(document)
    with pytest.raises(SpecError) as caught:
        parse_spec_text(text if text is not None else yaml.safe_dump(document), "viva_goals.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("viva_goals.yaml: ")
    return message


def setter(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node[key]
        node[last] = value

    return change


MALFORMED: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("a scope with a space", setter("auth.scopes", ["a b"]), "auth.scopes.0: expected a scope name without spaces"),
    ("a scope MSAL adds itself", setter("auth.scopes", ["openid"]), "auth.scopes.0: expected a scope name"),
    (
        "scopes for a profile without a signed-in user",
        setter("auth", {"profile": "entra_app", "scopes": ["https://graph.microsoft.com/.default"]}),
        "auth.scopes: expected no scopes: auth profile 'entra_app' takes no signed-in user's token",
    ),
    ("unknown top-level key", setter("colour", "red"), "colour: Extra inputs are not permitted"),
    ("unknown nested key", setter("create.request.verb", "POST"), "create.request.verb: Extra inputs"),
    (
        "template naming no parameter",
        setter("poll.request.path", "exportJobs/{params.nope}"),
        "poll.request.path: expected {params.nope} names no declared parameter",
    ),
    ("placeholder of an unknown kind", setter("poll.request.path", "x/{job.secret}"), "poll.request: expected {job"),
    (
        "the job named before it exists",
        setter("create.request.path", "exportJobs/{job.id}"),
        "create.request.path: expected {job.id}: there is no job yet",
    ),
    (
        "a placeholder spliced into a string",
        setter("create.request.body", {"goalsOrganizationId": "org-{params.goals_organization_id}"}),
        "never part of a string",
    ),
    ("reserved expansion", setter("poll.request.path", "x/{+job.id}"), "only {name} (one segment) or {/name*}"),
    (
        "an absolute URL as a path (a token URL on another origin)",
        setter("poll.request.path", "https://evil.example/{job.id}"),
        "poll.request: expected a path is relative to the target's base_url",
    ),
    (
        "a token endpoint on another origin",
        lambda d: d.update(auth={"profile": "oauth_client_credentials", "token_path": "https://evil.example/token"}),
        "auth.token_path: expected a path on the API origin",
    ),
    (
        "a token path for a profile that takes none",
        setter("auth.token_path", "/oauth/token"),
        "auth.token_path: expected auth profile 'entra_delegated' takes no token path",
    ),
    ("a state path that does not parse", setter("state.path", "status["), "state.path: expected a JMESPath"),
    ("a job id path that does not parse", setter("create.job_id.body", ["a.["]), "create.job_id.body.0: expected"),
    (
        "an unknown error envelope",
        setter("errors.envelope", "soap"),
        "expected one of graph, sailpoint, salesforce (names of code), got 'soap'",
    ),
    ("an unknown credential hint", setter("errors.hint", "guess"), "errors.hint: expected one of"),
    ("an unknown auth profile", setter("auth.profile", "basic"), "auth.profile: expected one of bearer, entra_app"),
    ("an unknown transform", setter("transforms", ["eval"]), "transforms.0: expected one of explorer_view_url"),
    (
        "a foreign host given as a URL",
        setter("result.allowed_hosts", ["https://x.blob.core.windows.net"]),
        "result.allowed_hosts.0: expected a DNS host",
    ),
    ("a foreign host given as an IP", setter("result.allowed_hosts", ["10.0.0.1"]), "result.allowed_hosts.0"),
    (
        "an API base from the token without the hosts it may be on",
        setter("api.base_from_token", "instance_url"),
        "api.instance_hosts: expected the host patterns an instance_url must match",
    ),
    (
        "an instance host pattern that is any host",
        setter("api.instance_hosts", ["*"]),
        "api.instance_hosts.0: expected a host pattern like '*.my.example.com'",
    ),
    (
        "an instance host given as a URL",
        setter("api.instance_hosts", ["https://*.my.salesforce.com"]),
        "api.instance_hosts.0: expected a host pattern",
    ),
    ("an unknown way to take the API base", setter("api.base_from_token", "id_token"), "api.base_from_token"),
    ("a foreign host that is any host", setter("result.allowed_hosts", ["*"]), "result.allowed_hosts.0"),
    (
        "the job reference as URL without a Location job reference",
        setter("poll.request", {"url": "job_ref"}),
        "poll.request.url: expected url: job_ref needs a job reference that is a URL",
    ),
    (
        "both a path and the job reference",
        setter("poll.request", {"url": "job_ref", "path": "x"}),
        "poll.request: expected exactly one of path",
    ),
    ("an outcome outside the closed set", setter("state.values", {"done": "finished"}), "state.values.done: Input"),
    ("no value meaning succeeded", setter("state.values", {"done": "running"}), "state: expected at least one"),
    (
        "a forbidden header",
        setter("poll.request.headers", {"Authorization": "Bearer x"}),
        "poll.request.headers.Authorization: expected a plain header name",
    ),
    ("an error status accepted", setter("create.accepted", [201, 409]), "create.accepted: expected 2xx"),
    ("a name other than the file's", setter("name", "graph_jobs"), "name: expected the file's name 'viva_goals'"),
    (
        "a cursor without its header",
        setter("result.pagination", {"kind": "header_cursor"}),
        "result.pagination: expected header_cursor needs header and query_param",
    ),
    ("a list parameter without items", setter("params.extra", {"type": "list"}), "params.extra: expected a list"),
    ("an enum on a number", setter("params.extra", {"type": "integer", "enum": ["1"]}), "params.extra.enum"),
    ("a GET with a body", setter("poll.request.body", {"a": 1}), "poll.request.body: expected a GET request has no"),
    ("plain http API", setter("api.example_base_url", "http://graph.example"), "api.example_base_url: expected"),
    ("a JSON array at no path", setter("result.records", {"format": "json_array_at_path"}), "result.records.path"),
    ("no job reference at all", setter("create.job_id", {"body": []}), "create.job_id: expected where the job is"),
    (
        "an OData literal in a path",
        setter("poll.request.path", "x/{params.explorer_view_id|odata}"),
        "poll.request: expected {params.explorer_view_id|odata}",
    ),
    ("a bad parameter pattern", setter("params.extra", {"type": "string", "pattern": "("}), "params.extra.pattern"),
]


@pytest.mark.parametrize(("change", "expected"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_spec_is_refused_with_one_line_naming_the_key(
    change: Callable[[dict[str, Any]], object], expected: str
) -> None:
    assert expected in refused(change)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: viva_goals\nname: again\n", "duplicate key 'name' at line 2"),
        ("- a\n- b\n", "(root): expected a mapping, got list"),
        ("a: &x [1]\n" + "".join(f"b{i}: *x\n" for i in range(17)), "more than 16 YAML aliases"),
        ("a: " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels deep"),
        ("a: [unclosed\n", "not valid YAML"),
        ("a: !!python/object:os.system {}\n", "not valid YAML"),
    ],
)
def test_a_spec_document_that_is_not_plain_bounded_yaml_is_refused_with_one_line(text: str, expected: str) -> None:
    assert expected in refused(lambda _: None, text)


def test_every_built_in_spec_loads_and_is_named_after_its_file() -> None:
    specs = load_specs()
    assert {"viva_goals", "sailpoint_sp_config"} <= set(specs)
    for path in BUILT_IN.glob("*.yaml"):
        assert load_spec(path).name == path.stem


def test_the_json_schema_for_editors_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), "run: python -m connectors.spec.schema"


def test_a_deployment_directory_adds_its_specs_beside_the_built_in_ones(tmp_path: Path) -> None:
    own = copy.deepcopy(SEED)
    own["name"] = "my_api"
    (tmp_path / "my_api.yaml").write_text(yaml.safe_dump(own), encoding="utf-8")

    specs = configured_specs({SPECS_DIR_SETTING: str(tmp_path)})

    assert {"viva_goals", "sailpoint_sp_config", "my_api"} <= set(specs)


def test_a_deployment_spec_cannot_replace_a_built_in_one(tmp_path: Path) -> None:
    (tmp_path / "viva_goals.yaml").write_text((BUILT_IN / "viva_goals.yaml").read_text(), encoding="utf-8")

    with pytest.raises(SpecError, match=r"viva_goals\.yaml: name: 'viva_goals' is a built-in spec"):
        load_specs(tmp_path)


def test_a_spec_file_over_the_size_bound_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (300 * 1024))

    with pytest.raises(SpecError, match=r"big\.yaml: larger than"):
        load_spec(path)


LIVING = ("cost_details_report", "powerbi_export_to_file", "intune_report_export", "salesforce_bulk_query")


@pytest.mark.parametrize("path", [BUILT_IN / f"{name}.yaml" for name in LIVING], ids=lambda p: p.stem)
def test_each_living_api_of_the_export_apis_page_is_expressible_as_a_spec(path: Path) -> None:
    spec = load_spec(path)

    assert spec.name == path.stem


def test_the_worked_spec_of_the_readme_is_valid() -> None:
    readme = (BUILT_IN.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Add an export API", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]

    assert parse_spec_text(block, "my_reports.yaml").name == "my_reports"


def test_a_deployment_spec_cannot_take_an_alias_another_spec_has(tmp_path: Path) -> None:
    own = copy.deepcopy(SEED)
    own.update(name="my_api", aliases=["sailpoint"])
    (tmp_path / "my_api.yaml").write_text(yaml.safe_dump(own), encoding="utf-8")

    with pytest.raises(
        SpecError, match=r"my_api\.yaml: aliases\.0: 'sailpoint' already names spec 'sailpoint_sp_config'"
    ):
        load_specs(tmp_path)
