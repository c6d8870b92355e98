"""Simulator behaviour that the connectors do not reach, checked with a plain HTTP client."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.azurite import free_port
from local.simulator import GRAPH_FIXTURE_TOKEN, Simulator
from tests.support.content import expected_sha256

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {GRAPH_FIXTURE_TOKEN}"}
REPO = Path(__file__).resolve().parents[3]


def jobs_url(sim: Simulator) -> str:
    return f"{sim.graph_base_url}/employeeExperience/goals/exportJobs"


def test_list_accepts_only_the_organization_filter(simulator: Simulator) -> None:
    good = httpx.get(
        jobs_url(simulator),
        params={"$filter": "goalsOrganizationId eq '9ab0fcab-c1d4-4b26-963b-a3c33155f853'"},
        headers=AUTH,
    )
    bad = httpx.get(jobs_url(simulator), params={"$filter": "status eq 'running'"}, headers=AUTH)
    assert good.status_code == 200
    assert good.json()["value"] == []
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "badRequest"


def test_non_guid_organization_is_400_with_the_documented_inner_code(simulator: Simulator) -> None:
    response = httpx.post(jobs_url(simulator), json={"goalsOrganizationId": "x", "explorerViewId": "y"}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"]["innerError"]["code"] == "invalidGoalsOrganizationId"


def finished_graph_job(sim: Simulator) -> dict[str, Any]:
    body = {
        "goalsOrganizationId": "9ab0fcab-c1d4-4b26-963b-a3c33155f853",
        "explorerViewId": "2c8b5fd3-67c3-4677-8eb3-e0066c4d2fd7",
    }
    job_id = httpx.post(jobs_url(sim), json=body, headers=AUTH).json()["id"]
    for _ in range(2):
        job: dict[str, Any] = httpx.get(f"{jobs_url(sim)}/{job_id}", headers=AUTH).json()
    return job


def test_slow_bodies_take_their_time(simulator: Simulator) -> None:
    simulator.config.content_size = 200_000
    simulator.config.content_bytes_per_s = 400_000
    simulator.config.chunk_size = 50_000
    job = finished_graph_job(simulator)
    began = time.monotonic()
    content = httpx.get(job["resourceLocation"], headers=AUTH)
    assert len(content.content) >= 200_000
    assert time.monotonic() - began >= 0.35  # three of the four chunks are followed by a pause of 0.125 s


def test_content_served_from_a_file_is_the_jobs_bytes_and_only_two_files_are_kept(
    simulator: Simulator, tmp_path: Path
) -> None:
    simulator.config.content_size = 3 * 1024 * 1024 + 17
    simulator.config.content_file_dir = str(tmp_path)
    jobs = [finished_graph_job(simulator) for _ in range(3)]
    for job in [*jobs, jobs[-1]]:  # the last one twice: the second time from the file already written
        content = httpx.get(job["resourceLocation"], headers=AUTH)
        assert content.status_code == 200
        assert int(content.headers["Content-Length"]) == len(content.content)
        assert hashlib.sha256(content.content).hexdigest() == expected_sha256("graph", job["id"], 3 * 1024 * 1024 + 17)
    assert len(list(tmp_path.glob("graph-*.csv"))) == 2
    assert list(tmp_path.glob("*.partial")) == []


def test_settings_can_be_changed_over_http_and_unknown_ones_are_refused(simulator: Simulator) -> None:
    assert httpx.post(f"{simulator.base_url}/_sim/config", json={"retry_after_s": 9}).status_code == 200
    assert simulator.config.retry_after_s == 9
    refused = httpx.post(f"{simulator.base_url}/_sim/config", json={"nope": 1})
    assert refused.status_code == 400
    assert "nope" in refused.json()["error"]


def test_the_cli_serves_and_says_how_to_point_a_target_at_it() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "local", "simulator", "--port", str(port)],
        cwd=REPO,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first
        form = {"grant_type": "client_credentials", "client_id": "sim-client", "client_secret": "sim-secret"}
        token = httpx.post(f"http://127.0.0.1:{port}/oauth/token", data=form)
        assert token.status_code == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
