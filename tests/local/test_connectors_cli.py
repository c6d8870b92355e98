"""`python -m local connectors list|check`: what specs there are, and what one would send, without network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from connectors.spec.loader import BUILT_IN
from local.connectors_cli import connectors_main
from tests.support.targets import ORG, VIEW

REPO = Path(__file__).resolve().parents[2]


def targets_file(tmp_path: Path) -> Path:
    path = tmp_path / "targets.yaml"
    goals = {
        "name": "goals",
        "connector": "viva_goals",
        "base_url": "https://graph.microsoft.com/beta",
        "params": {"goals_organization_id": ORG, "explorer_view_id": VIEW},
        "auth": {"kind": "bearer_env", "env": "GRAPH_TOKEN"},
    }
    path.write_text(yaml.safe_dump({"targets": [goals]}), encoding="utf-8")
    return path


def test_list_names_each_spec_with_its_origin_and_auth_profile() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "local", "connectors", "list"], cwd=REPO, capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert ["viva_goals", "https://graph.microsoft.com", "entra_delegated"] in rows
    assert ["sailpoint_sp_config", "https://tenant.api.identitynow.com", "oauth_client_credentials"] in rows


def test_check_prints_the_requests_a_target_would_send_without_a_credential(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRAPH_TOKEN", raising=False)

    code = connectors_main(
        ["check", str(BUILT_IN / "viva_goals.yaml"), "--targets", str(targets_file(tmp_path)), "--target", "goals"]
    )

    out = capsys.readouterr().out
    assert code == 0
    assert "create: POST https://graph.microsoft.com/beta/employeeExperience/goals/exportJobs" in out
    assert f'"goalsOrganizationId": "{ORG}"' in out
    assert f"%24filter=goalsOrganizationId+eq+%27{ORG}%27" in out
    assert "poll: GET https://graph.microsoft.com/beta/employeeExperience/goals/exportJobs/FAKE-JOB-ID" in out


def test_check_refuses_a_malformed_spec_with_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = yaml.safe_load((BUILT_IN / "viva_goals.yaml").read_text(encoding="utf-8"))
    bad["poll"]["request"]["path"] = "exportJobs/{params.nope}"
    path = tmp_path / "viva_goals.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")

    code = connectors_main(["check", str(path)])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "viva_goals.yaml: poll.request.path: expected {params.nope} names no declared parameter" in err


def test_check_names_a_missing_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = connectors_main(
        ["check", str(BUILT_IN / "viva_goals.yaml"), "--targets", str(targets_file(tmp_path)), "--target", "nope"]
    )

    assert code == 2
    assert "no target named 'nope'; targets: goals" in capsys.readouterr().err
