"""Throughput of an export streamed simulator → download activity → Azurite, against a plain upload.

Both runs move the same bytes in the same process, one after the other, so the
ratio is meaningful on a noisy machine; peak RSS growth is sampled during each.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path

from activities.export_activities import download_export
from benchmarks.memory import peak_rss
from connectors.base import JobState, JobStatus
from local import azurite
from local.simulator import GRAPH_FIXTURE_TOKEN, SimulatorConfig, expected_content, run_simulator
from sinks.storage_config import StorageSettings
from tests.support.targets import viva_target


def measure(size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, azurite.running(Path(tmp)) as storage:
        os.environ.update(
            EXPORTS_STORAGE_CONNECTION_STRING=storage.connection_string, TEST_GRAPH_TOKEN=GRAPH_FIXTURE_TOKEN
        )
        os.environ["EXPORTS_CONTAINER"] = "bench"
        config = SimulatorConfig(job_polls=1, content_size=size, chunk_size=1024 * 1024)
        with run_simulator(config) as sim:
            target = viva_target(sim)
            job = _finished_job(target.to_input())
            payload = {"target": target.to_input(), "job": job.to_dict(), "instance_id": "bench"}
            gc.collect()
            with peak_rss() as activity_mem:
                began = time.perf_counter()
                result = download_export(payload)
                activity_s = time.perf_counter() - began
            assert "blob" in result, result
            moved = result["blob"]["size"]
            container = StorageSettings.from_env().container_client()
            gc.collect()
            with peak_rss() as plain_mem:
                began = time.perf_counter()
                container.upload_blob("plain-upload.csv", expected_content("graph", job.job_id, size, 1024 * 1024),
                                      overwrite=True)  # fmt: skip
                plain_s = time.perf_counter() - began
    return {
        "bytes": moved,
        "activity_mib_s": moved / 2**20 / activity_s,
        "plain_mib_s": moved / 2**20 / plain_s,
        "ratio": plain_s / activity_s,
        "activity_peak_mib": activity_mem.growth_mib,
        "plain_peak_mib": plain_mem.growth_mib,
    }


def _finished_job(target: dict[str, object]) -> JobStatus:
    from activities.connections import connector_for

    connector = connector_for(target)
    job = connector.start_job()
    while job.state is not JobState.SUCCEEDED:
        job = connector.get_job(job.job_id)
    return job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, nargs="+", default=[1024])
    args = parser.parse_args(argv)
    print(
        f"{'size':>8} {'activity MiB/s':>15} {'plain MiB/s':>12} {'ratio':>6} {'activity +RSS':>14} {'plain +RSS':>11}"
    )
    for size_mib in args.size_mib:
        r = measure(size_mib * 2**20)
        print(
            f"{r['bytes'] / 2**20:>7.0f}M {r['activity_mib_s']:>15.1f} {r['plain_mib_s']:>12.1f} {r['ratio']:>6.2f} "
            f"{r['activity_peak_mib']:>11.1f}MiB {r['plain_peak_mib']:>8.1f}MiB",
            flush=True,
        )
    return 0
