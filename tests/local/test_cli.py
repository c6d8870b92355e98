"""`python -m local run` as a user runs it: a real process, the simulator and Azurite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from local.simulator import Simulator
from tests.support.targets import ORG, VIEW

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]
REPO = Path(__file__).resolve().parents[2]


def write_targets(tmp_path: Path, sim: Simulator, org: str = ORG) -> Path:
    document = {
        "targets": [
            {
                "name": "goals",
                "connector": "viva_goals",
                "base_url": sim.graph_base_url,
                "params": {"goals_organization_id": org, "explorer_view_id": VIEW},
                "auth": {"kind": "bearer_env", "env": "TEST_GRAPH_TOKEN"},
            }
        ]
    }
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local", "run", *args],
        cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_run_prints_one_json_summary_and_exits_zero(tmp_path: Path, simulator: Simulator) -> None:
    done = cli("goals", "--targets", str(write_targets(tmp_path, simulator)), "--timer-scale", "0.001")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "succeeded"
    assert summary["blob"]["sha256"]
    assert summary["blob"]["container"] == os.environ["EXPORTS_CONTAINER"]
    assert summary["event"]["type"] == "com.exportpipeline.export.succeeded"
    assert "polls" in done.stderr  # progress went to stderr


def test_upstream_failure_exits_one_with_a_readable_line(tmp_path: Path, simulator: Simulator) -> None:
    targets = write_targets(tmp_path, simulator, org="11111111-2222-3333-4444-555555555555")
    done = cli("goals", "--targets", str(targets), "--timer-scale", "0.001")
    assert done.returncode == 1
    assert json.loads(done.stdout)["status"] == "failed"
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: export goals failed")
    assert "Goals organization not found" in last


def test_unknown_target_exits_two_and_starts_nothing(tmp_path: Path, simulator: Simulator) -> None:
    done = cli("nope", "--targets", str(write_targets(tmp_path, simulator)))
    assert done.returncode == 2
    assert done.stderr.strip() == "error: targets.yaml: no target named 'nope'; have goals"
    assert done.stdout == ""
    assert simulator.stats.requests == []


def test_markup_in_upstream_text_is_printed_as_text_on_the_run_and_on_its_resume(
    tmp_path: Path, simulator: Simulator
) -> None:
    message = "view [/bold] is [red]gone[/red] \\"
    simulator.inject("graph.create", status=400, body={"error": {"code": "badRequest", "message": message}})
    targets = str(write_targets(tmp_path, simulator))
    runs = [cli("goals", "--targets", targets, "--timer-scale", "0.001", "--run-key", "markup") for _ in range(2)]
    for done in runs:  # the second is the resume: it returns the saved failure
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert json.loads(done.stdout)["status"] == "failed"
        assert message in done.stderr.strip().splitlines()[-1]
    assert "(upstream refused the export" in runs[0].stderr  # the progress line printed the text, markup and all
    assert message in runs[0].stderr.split("error: export goals failed")[0]
    assert len(simulator.stats.requests_for("graph.create")) == 1


def test_a_successful_run_does_not_show_an_earlier_transient_error(tmp_path: Path, simulator: Simulator) -> None:
    simulator.inject("graph.get", status=503, count=1)
    done = cli("goals", "--targets", str(write_targets(tmp_path, simulator)), "--timer-scale", "0.001")
    assert done.returncode == 0, done.stderr
    assert len(simulator.stats.requests_for("graph.get")) >= 2
    assert "HTTP 503" in done.stderr  # it was reported while it happened
    endings = [line for line in done.stderr.splitlines() if line.startswith(("goals notifying", "goals succeeded"))]
    assert len(endings) == 2, done.stderr
    assert not any("upstream error" in line for line in endings), endings
