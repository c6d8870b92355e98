"""Targets files: every mistake becomes one readable line naming where it is."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    assert sorted(targets) == ["goals-okrs", "sailpoint-config"]
    assert targets["goals-okrs"].auth.kind == "msal_token_cache"
    assert targets["sailpoint-config"].auth.kind == "client_credentials_env"
