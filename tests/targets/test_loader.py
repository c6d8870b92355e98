"""Targets files: every mistake becomes one readable line naming where it is."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from local.cli import run_main
from targets import TargetsError, load_targets, parse_targets

VIEW_URL = (
    "https://goals.microsoft.com/org_uuid/94a356ab-53d5-40e7-8a85-053d6d3b9eb3/objective-explorer"
    "?viewId=e5e7a3c1-8cdf-409d-9ce9-ff730d65d95e"
)


def goals(**changes: Any) -> dict[str, Any]:
    target = {
        "name": "goals",
        "connector": "viva_goals",
        "base_url": "https://graph.microsoft.com/beta",
        "params": {"explorer_view_url": VIEW_URL},
        "auth": {"kind": "bearer_env", "env": "GRAPH_TOKEN"},
        "schedule": "0 0 2 * * *",
    }
    return {**target, **changes}


def test_yaml_targets_file_loads_and_normalises_the_explorer_url(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(
        "targets:\n  - name: goals\n    connector: viva_goals\n    base_url: https://graph.microsoft.com/beta\n"
        f"    params: {{explorer_view_url: '{VIEW_URL}'}}\n    auth: {{kind: bearer_env, env: GRAPH_TOKEN}}\n"
    )
    target = load_targets(path)["goals"]
    assert target.params == {
        "goals_organization_id": "94a356ab-53d5-40e7-8a85-053d6d3b9eb3",
        "explorer_view_id": "e5e7a3c1-8cdf-409d-9ce9-ff730d65d95e",
    }


def test_json_targets_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "targets.json"
    path.write_text(json.dumps({"targets": [goals()]}))
    assert list(load_targets(path)) == ["goals"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"targets": [goals(connector="salesforce")]}, "unknown connector 'salesforce'"),
        ({"targets": [goals(name="Bad Name")]}, "targets[0].name"),
        ({"targets": [goals(params={"explorer_view_id": "x"})]}, "expected goals_organization_id"),
        ({"targets": [goals(auth={"kind": "password"})]}, "targets[0].auth"),
        ({"targets": [goals(base_url="http://graph.microsoft.com/beta")]}, "https"),
        ({"targets": [goals(schedule="every day")]}, "six fields"),
        ({"targets": [goals(poll={"floor_s": 0})]}, "floor_s"),
        ({"targets": [goals(), goals()]}, "duplicate target name 'goals'"),
        ({"targets": []}, "no targets defined"),
        ({"jobs": []}, "list under 'targets'"),
        ({"targets": [goals(extra=1)]}, "targets[0].extra"),
    ],
)
def test_bad_targets_are_refused_with_a_message_saying_where(document: dict[str, Any], message: str) -> None:
    with pytest.raises(TargetsError) as caught:
        parse_targets(document)
    assert message in str(caught.value)


def test_unreadable_and_malformed_files_get_one_line(tmp_path: Path) -> None:
    with pytest.raises(TargetsError, match="cannot read targets file"):
        load_targets(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("targets: [\n")
    with pytest.raises(TargetsError, match="not valid YAML"):
        load_targets(broken)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
    )
)
def test_no_document_crashes_the_parser(document: Any) -> None:
    with contextlib.suppress(TargetsError):  # a clean refusal is fine; any other exception fails the test
        parse_targets(document)


def test_the_example_targets_file_shipped_with_the_repository_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "targets.example.yaml"
    targets = load_targets(example)
    assert sorted(targets) == [
        "azure-costs",
        "goals-okrs",
        "intune-devices",
        "sailpoint-config",
        "sales-report",
        "salesforce-accounts",
    ]
    assert {target.connector for target in targets.values()} == {
        "viva_goals",
        "sailpoint",
        "intune_report_export",
        "powerbi_export_to_file",
        "cost_details_report",
        "salesforce_bulk_query",
    }
    assert targets["goals-okrs"].auth.kind == "msal_token_cache"
    assert targets["sailpoint-config"].auth.kind == "client_credentials_env"


# -- hostile files: nesting, duplicate keys, unbounded poll numbers, a shared token cache ----------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.yaml", "targets: " + "[" * 5000 + "]" * 5000 + "\n"),
        ("deep-block.yaml", "targets:\n" + "".join("  " * level + "- \n" for level in range(200)) + "  " * 200 + "x\n"),
        ("deep.json", '{"targets": ' + "[" * 5000 + "]" * 5000 + "}"),
    ],
)
def test_a_deeply_nested_file_is_one_line_and_exit_2_from_the_local_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TargetsError, match="nested more than 32 levels deep"):
        load_targets(path)
    assert run_main(["goals", "--targets", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {name}: ") or error.startswith(f"error: {path}: ")
    assert error.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "dup.yaml",
            "targets:\n  - name: goals\n    connector: viva_goals\n    base_url: https://graph.microsoft.com/beta\n"
            f"    params: {{explorer_view_url: '{VIEW_URL}'}}\n    auth: {{kind: bearer_env, env: GRAPH_TOKEN}}\n"
            "    auth: {kind: bearer_env, env: SAILPOINT_CLIENT_SECRET}\n",
            "duplicate key 'auth' at line 7",
        ),
        ("dup-top.yaml", "targets: []\ntargets:\n  - name: goals\n", "duplicate key 'targets' at line 2"),
        (
            "dup.json",
            '{"targets": [\n  {"name": "goals",\n   "base_url": "https://graph.microsoft.com/beta",\n'
            '   "base_url": "https://collector.example.org"}\n]}',
            "duplicate key 'base_url' at line 4",
        ),
    ],
)
def test_duplicate_keys_are_refused_with_the_key_and_its_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TargetsError) as caught:
        load_targets(path)
    assert str(caught.value) == f"{path}: {message}"


def test_yaml_merge_keys_still_override_as_yaml_means(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(
        "common: &common {connector: viva_goals, base_url: 'https://example.invalid', "
        "auth: {kind: bearer_env, env: GRAPH_TOKEN}}\n"
        f"targets:\n  - <<: *common\n    name: goals\n    base_url: https://graph.microsoft.com/beta\n"
        f"    params: {{explorer_view_url: '{VIEW_URL}'}}\n"
    )
    target = load_targets(path)["goals"]
    assert (target.base_url, target.connector) == ("https://graph.microsoft.com/beta", "viva_goals")


@pytest.mark.parametrize(
    "poll",
    [
        {"deadline_s": 1e12},
        {"deadline_s": float("inf")},
        {"deadline_s": float("nan")},
        {"deadline_s": -1},
        {"deadline_s": 31 * 86400},
        {"floor_s": float("nan")},
        {"floor_s": 1e-9},
        {"floor_s": 0.5},
        {"ceiling_s": 0.5},
        {"floor_s": -1},
        {"floor_s": 3601},
        {"ceiling_s": 1e300},
        {"ceiling_s": float("inf")},
        {"max_recreations": 10**9},
        {"max_recreations": 1.5},
        {"max_recreations": -1},
    ],
)
def test_every_poll_setting_is_bounded_to_a_finite_range(poll: dict[str, Any]) -> None:
    with pytest.raises(TargetsError) as caught:
        parse_targets({"targets": [goals(poll=poll)]})
    assert f"poll.{next(iter(poll))}" in str(caught.value)


@pytest.mark.parametrize(
    "key",
    [
        "factor",
        "jitter",
        "age_fraction",
        "min_wait_s",
        "max_server_wait_s",
        "max_transient_failures",
        "polls_per_generation",
        "deadline",
    ],
)
def test_a_poll_key_a_target_may_not_set_is_refused_by_name(key: str) -> None:
    """The knobs that became constants (and any typo) are refused, never silently ignored."""
    with pytest.raises(TargetsError) as caught:
        parse_targets({"targets": [goals(poll={"deadline_s": 600, key: 2})]})
    message = str(caught.value)
    assert message.startswith(f"targets: targets[0].poll: {key}: not a per-target poll setting"), message
    assert "a target may set only floor_s, ceiling_s, deadline_s, max_recreations" in message


def test_a_yaml_infinity_is_refused_as_a_poll_deadline(tmp_path: Path) -> None:
    path = tmp_path / "inf.yaml"
    path.write_text("targets:\n" + "\n".join(f"  {line}" for line in yaml.safe_dump([goals()]).splitlines()))
    path.write_text(path.read_text() + "\n    poll: {deadline_s: .inf}\n")
    with pytest.raises(TargetsError, match=r"poll\.deadline_s"):
        load_targets(path)


def test_generous_real_poll_settings_are_accepted() -> None:
    poll = {"floor_s": 30, "ceiling_s": 86400, "deadline_s": 30 * 86400, "max_recreations": 100}
    assert parse_targets({"targets": [goals(poll=poll)]})["goals"].poll.model_dump() == poll


def test_two_targets_cannot_share_one_token_cache() -> None:
    auth = {"kind": "msal_token_cache", "client_id": "94a356ab-53d5-40e7-8a85-053d6d3b9eb3", "tenant_id": "contoso.com"}
    document = {
        "targets": [goals(auth=auth), goals(name="okrs", auth={**auth, "cache_blob": "token-caches/goals.json"})]
    }
    with pytest.raises(TargetsError, match=r"targets\[1\]\.auth\.cache_blob: 'token-caches/goals.json' is the token "):
        parse_targets(document)


def test_a_credential_kind_the_specs_auth_profile_does_not_take_is_refused_naming_the_target() -> None:
    cost = {
        "name": "costs",
        "connector": "cost_details_report",
        "base_url": "https://management.azure.com",
        "params": {"scope": "subscriptions/1", "time_period": {"start": "2026-11-01", "end": "2026-11-30"}},
        "auth": {"kind": "msal_token_cache", "client_id": "00000000-0000-0000-0000-000000000000", "tenant_id": "x.com"},
    }
    with pytest.raises(TargetsError, match=r"targets\[0\].*takes auth kind bearer_env or client_credentials_env"):
        parse_targets({"targets": [cost]})
