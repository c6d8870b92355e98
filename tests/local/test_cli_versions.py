"""`python -m local run` refuses, by name and before starting anything, a saved run of a release it does not read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from local.cli import HISTORY_CONTAINER
from local.runner.blob_store import history_blob_name
from local.simulator import Simulator
from orchestrators.instance_ids import export_instance_id
from sinks.storage_clients import StorageSettings
from tests.support.targets import viva_raw

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]
REPO = Path(__file__).resolve().parents[2]


def test_a_saved_run_of_an_unknown_release_is_refused_naming_the_versions(tmp_path: Path, simulator: Simulator) -> None:
    run_key = f"later-{uuid.uuid4().hex[:8]}"
    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"targets": [viva_raw(simulator.graph_base_url)]}))
    saved = {"schema_version": 7, "name": "export_orchestrator", "input": "{}", "history": [], "status": "Running"}
    history = replace(StorageSettings.from_env(), container=HISTORY_CONTAINER).container_client(create=True)
    history.upload_blob(history_blob_name(export_instance_id("goals", run_key)), json.dumps(saved), overwrite=True)
    done = subprocess.run(
        [sys.executable, "-m", "local", "run", "goals", "--targets", str(targets), "--run-key", run_key],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "stored runner instance: schema version 7 is not one this release reads (it reads 1 and 2)" in done.stderr
    assert "Traceback" not in done.stderr
    assert sum(simulator.stats.jobs_created.values()) == 0
