"""`python -m local run` as a user runs it: a real process, the simulator and Azurite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from azure.core.exceptions import ResourceNotFoundError

from local.cli import DRIVEN_ELSEWHERE, HISTORY_CONTAINER
from local.runner.blob_store import history_blob_name
from local.simulator import Simulator
from orchestrators.instance_ids import export_instance_id
from sinks.storage_clients import StorageSettings
from tests.support.targets import ORG, viva_raw

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]
REPO = Path(__file__).resolve().parents[2]


def write_targets(tmp_path: Path, sim: Simulator, org: str = ORG) -> Path:
    goals = viva_raw(sim.graph_base_url)
    goals["params"]["goals_organization_id"] = org
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": [goals]}))
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local", "run", *args],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


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


# -- one driver per run ----------------------------------------------------------------------------

Outcome = tuple[int, str, str]  # exit code, stdout, stderr
HELD = 1_000_000  # status polls before the simulator's job finishes: until the test lets it (job_polls = 1)


def start(*args: str) -> subprocess.Popen[str]:
    command, pipe = [sys.executable, "-m", "local", "run", *args], subprocess.PIPE
    return subprocess.Popen(command, cwd=REPO, env=dict(os.environ), stdout=pipe, stderr=pipe, text=True)


def finish(process: subprocess.Popen[str]) -> Outcome:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[str] | None = None) -> None:
    """Poll `condition`; a bound on the wait only, so a hang fails the test instead of stalling the suite."""
    deadline = time.monotonic() + 90
    while not condition():
        assert process is None or process.poll() is None, finish(process)
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.1)


def events_published() -> int:
    try:
        return len(StorageSettings.from_env().queue_client().peek_messages(max_messages=32))
    except ResourceNotFoundError:
        return 0


def run_args(tmp_path: Path, sim: Simulator, key: str, *extra: str) -> tuple[str, ...]:
    targets = str(write_targets(tmp_path, sim))
    return ("goals", "--targets", targets, "--timer-scale", "1", "--run-key", key, "--quiet", *extra)


def assert_refused(outcome: Outcome) -> None:
    code, out, err = outcome
    assert code == DRIVEN_ELSEWHERE, err
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("error: instance 'export-goals-")
    assert "another process" in err


def test_two_processes_with_one_run_key_create_one_job_and_publish_one_event(
    tmp_path: Path, simulator: Simulator
) -> None:
    simulator.config.job_polls = HELD  # the job runs until both processes have met
    args = run_args(tmp_path, simulator, uuid.uuid4().hex)
    both = [start(*args), start(*args)]
    wait_until(lambda: any(process.poll() is not None for process in both))
    simulator.config.job_polls = 1  # one of them has given up: the job finishes at the other's next poll
    winner, loser = sorted(map(finish, both))
    assert winner[0] == 0, winner[2]
    assert json.loads(winner[1])["status"] == "succeeded"
    assert_refused(loser)
    assert simulator.stats.jobs_created["graph"] == 1
    assert events_published() == 1


def test_a_run_killed_outright_is_refused_to_a_plain_repeat_and_resumed_by_take_over(
    tmp_path: Path, simulator: Simulator
) -> None:
    simulator.config.job_polls = HELD
    args = run_args(tmp_path, simulator, uuid.uuid4().hex)
    first = start(*args)
    wait_until(lambda: bool(simulator.stats.requests_for("graph.get")), first)  # polling: the job id is saved
    first.kill()  # SIGKILL: no clean-up, its lease (60 s) stays until it expires
    first.wait()
    assert_refused(finish(start(*args)))
    simulator.config.job_polls = 1
    code, out, err = finish(start(*args, "--take-over"))
    assert code == 0, err
    assert json.loads(out)["status"] == "succeeded"
    assert simulator.stats.jobs_created["graph"] == 1
    assert events_published() == 1


def test_a_run_killed_outright_resumes_without_take_over_once_its_lease_expires(
    tmp_path: Path, simulator: Simulator
) -> None:
    simulator.config.job_polls = HELD
    key = uuid.uuid4().hex
    args = run_args(tmp_path, simulator, key, "--lease-seconds", "15")  # the shortest lease Blob Storage grants
    first = start(*args)
    wait_until(lambda: bool(simulator.stats.requests_for("graph.get")), first)
    first.kill()
    first.wait()
    history = StorageSettings.from_env().blob_service().get_container_client(HISTORY_CONTAINER)
    blob = history.get_blob_client(history_blob_name(export_instance_id("goals", key)))
    wait_until(lambda: blob.get_blob_properties().lease.state != "leased")  # at most 15 s
    simulator.config.job_polls = 1
    code, out, err = finish(start(*args))
    assert code == 0, err
    assert json.loads(out)["status"] == "succeeded"
    assert simulator.stats.jobs_created["graph"] == 1
    assert events_published() == 1


def test_help_documents_the_exit_code_of_a_run_driven_by_another_process() -> None:
    done = cli("--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert f"{DRIVEN_ELSEWHERE} another process is driving the same run (same --run-key)" in text
    assert "--take-over" in text
    assert "--lease-seconds" in text
