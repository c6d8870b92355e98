"""`python -m local freshness` and `python -m local runs` after real exports on the local stack."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from local.__main__ import main
from local.cli import history_store, run_export
from local.operate import age_text, runs_text
from local.simulator import Simulator
from targets import parse_targets
from tests.support.targets import sailpoint_target, viva_raw

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]


def test_runs_and_freshness_show_what_the_runner_just_did(
    simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"goals-{uuid.uuid4().hex[:6]}"
    raw = {**viva_raw(simulator.graph_base_url, name), "freshness": {"warn_after": "1h", "error_after": "2h"}}
    targets_file = tmp_path / "targets.json"
    targets_file.write_text(json.dumps({"targets": [raw, {**viva_raw(simulator.graph_base_url, "idle")}]}))
    goals = parse_targets(json.loads(targets_file.read_text()))[name]
    store = history_store("azurite")
    try:
        ok = run_export(goals, run_key=uuid.uuid4().hex, timer_scale=0.001, store=store)
        simulator.config.fail_jobs = 1
        failing = sailpoint_target(simulator, name=f"sp-{uuid.uuid4().hex[:6]}", max_recreations=0)
        bad = run_export(failing, run_key=uuid.uuid4().hex, timer_scale=0.001, store=store)
    finally:
        store.close()
    assert (ok.status, bad.status) == ("Completed", "Failed")

    assert main(["runs", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    mine = {r["target"]: r for r in rows if r["instance_id"] in (ok.instance_id, bad.instance_id)}
    assert mine[name]["outcome"] == "succeeded"
    assert mine[name]["bytes"] == ok.output["blob"]["size"]
    assert mine[name]["polls"] == ok.output["polls"]
    assert mine[name]["started"] <= mine[name]["finished"]
    assert mine[failing.name]["outcome"] == "failed"
    assert "re-created 0 time(s)" in mine[failing.name]["last_error"]

    assert main(["runs", "--status", "failed", "--target", failing.name]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == [
        "target",
        "started",
        "finished",
        "outcome",
        "bytes",
        "polls",
        "re-creations",
        "last",
        "error",
    ]
    assert [line.split()[0] for line in text.splitlines()[1:]] == [failing.name]

    assert main(["freshness", "--targets", str(targets_file)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["target", "last", "success", "age", "state"]
    states = {line.split()[0]: line.split()[-1] for line in table[1:]}
    assert states == {name: "fresh", "idle": "unchecked"}


def test_bad_filters_exit_2_with_one_line() -> None:
    assert main(["runs", "--since", "yesterday"]) == 2
    assert main(["freshness", "--targets", "/nonexistent/targets.yaml"]) == 2


def test_ages_read_as_people_say_them() -> None:
    assert [age_text(s) for s in (None, 5, 125, 3 * 3600 + 60, 2 * 86400 + 3600)] == [
        "-",
        "5s",
        "2m 5s",
        "3h 1m",
        "2d 1h",
    ]
    assert runs_text([]).split() == [
        "target",
        "started",
        "finished",
        "outcome",
        "bytes",
        "polls",
        "re-creations",
        "last",
        "error",
    ]
