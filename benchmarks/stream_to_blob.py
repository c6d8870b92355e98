"""Throughput of an export streamed simulator → download activity → Azurite, against a plain upload.

Both runs move the same bytes in the same process, one after the other, so the
ratio is meaningful on a noisy machine; peak RSS growth is sampled during each.
Several sizes share one Azurite so that the sizes differ only in the bytes
moved: the point of printing them side by side is that memory must not grow
with size (the activity holds about one staged block, whatever the export).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import time
from typing import Any

from activities.connections import connector_for
from activities.export_activities import download_export
from benchmarks.environment import shared_azurite, use_storage
from benchmarks.memory import peak_rss
from connectors.base import JobState, JobStatus
from local.azurite import Azurite
from local.simulator import SimulatorConfig, expected_content, run_simulator
from sinks.storage_config import StorageSettings
from tests.support.targets import viva_target

CONTAINER = "bench-stream"
CHUNK = 1024 * 1024
DEFAULT_SIZES_MIB = (1024, 4096)


def measure(size: int, storage: Azurite | None = None) -> dict[str, float]:
    """One side-by-side measurement of `size` bytes; starts an Azurite of its own unless given one."""
    if storage is None:
        with shared_azurite() as own:
            return measure(size, own)
    use_storage(storage, CONTAINER)
    config = SimulatorConfig(job_polls=1, content_size=size, chunk_size=CHUNK)
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
            container.upload_blob("plain-upload.csv", expected_content("graph", job.job_id, size, CHUNK),
                                  overwrite=True)  # fmt: skip
            plain_s = time.perf_counter() - began
        _remove(container, [result["blob"]["name"], "plain-upload.csv"])  # the next size starts from a clean disk
    return {
        "bytes": moved,
        "activity_mib_s": moved / 2**20 / activity_s,
        "plain_mib_s": moved / 2**20 / plain_s,
        "ratio": plain_s / activity_s,
        "activity_peak_mib": activity_mem.growth_mib,
        "plain_peak_mib": plain_mem.growth_mib,
    }


def _finished_job(target: dict[str, object]) -> JobStatus:
    connector = connector_for(target)
    job = connector.start_job()
    while job.state is not JobState.SUCCEEDED:
        job = connector.get_job(job.job_id)
    return job


def _remove(container: Any, names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(Exception):
            container.delete_blob(name)


def run(sizes_mib: list[int], storage: Azurite) -> list[dict[str, float]]:
    """Measure every size against the same Azurite and print one row per size as it finishes."""
    print("== Streaming: simulator → download_export → Azurite, against a plain upload_blob of the same bytes ==")
    print(
        f"{'size':>8} {'activity MiB/s':>15} {'plain MiB/s':>12} {'ratio':>6} {'activity +RSS':>14} {'plain +RSS':>11}",
        flush=True,
    )
    rows = []
    for size_mib in sizes_mib:
        r = measure(size_mib * 2**20, storage)
        rows.append(r)
        print(
            f"{r['bytes'] / 2**20:>7.0f}M {r['activity_mib_s']:>15.1f} {r['plain_mib_s']:>12.1f} {r['ratio']:>6.2f} "
            f"{r['activity_peak_mib']:>11.1f}MiB {r['plain_peak_mib']:>8.1f}MiB",
            flush=True,
        )
    if len(rows) > 1:
        small, large = rows[0], rows[-1]
        print(
            f"memory vs size: {large['bytes'] / small['bytes']:.1f}x the bytes, activity +RSS "
            f"{small['activity_peak_mib']:.1f} → {large['activity_peak_mib']:.1f} MiB, plain +RSS "
            f"{small['plain_peak_mib']:.1f} → {large['plain_peak_mib']:.1f} MiB",
            flush=True,
        )
    print("(ratio = activity throughput / plain throughput; +RSS = peak resident memory growth of this process)")
    return rows


def main(argv: list[str] | None = None) -> int:
    """The streaming section alone: `python -m benchmarks.stream_to_blob --size-mib 1024 4096`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, nargs="+", default=list(DEFAULT_SIZES_MIB))
    args = parser.parse_args(argv)
    with shared_azurite() as storage:
        run(args.size_mib, storage)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
