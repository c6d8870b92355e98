"""Throughput and memory of an export streamed simulator → `download_export` → Azurite, against the stack's limit.

"Plain" is `upload_blob` of the same bytes from a file the page cache holds,
with the same per-block Content-MD5, block size and blocks in flight as the
activity: what Python, the SDK and Azurite can do on this machine, so activity
/ plain says how much the pipeline loses. The simulator sends that same file
with sendfile, so on this 2-core machine the load source takes next to no CPU
from the pipeline and Azurite (a real upstream runs elsewhere); the file is
written before the clock starts, for both sides. The source alone (the
simulator read by a plain HTTP client, bytes discarded) shows the upstream is
not what limits the activity.

Each measurement runs in a process of its own, so its peak RSS growth starts
from a clean baseline (an allocator that kept an earlier run's blocks would
hide growth), and the simulator runs in another process, as a real upstream
would, instead of competing for this interpreter's lock. The activity and
plain runs alternate, size by size and round by round, so a noisy neighbour
slows both sides rather than one; which side goes first swaps every round.

Every measurement starts with the page cache's dirty pages written out
(`os.sync`). Azurite writes each run's gigabytes to disk, and the kernel writes
them back in the background while the next run is timed: without the sync, the
run that follows a 4 GiB write would pay for it. That is the likely cause of the
outlier rounds seen before (activity / plain 0.69-0.77 at 1 GiB, right after a
4 GiB run); it was not measured on its own, only kept off the clock.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from azure.storage.blob import BlobServiceClient

from activities.connections import connector_for
from activities.export_activities import download_export
from benchmarks.environment import loopback_only, shared_azurite, use_storage
from connectors.base import JobState, JobStatus
from local.azurite import Azurite, free_port
from local.simulator import (
    FIXTURE_ENTRA_CLIENT_ID,
    FIXTURE_ENTRA_CLIENT_SECRET,
    FIXTURE_ENTRA_TENANT,
    FIXTURE_SALESFORCE_TOKEN,
    GRAPH_FIXTURE_TOKEN,
)
from local.simulator.config import FIXTURE_COST_SCOPE
from local.simulator.content import csv_file, csv_length, seed_of, table_rows_for
from sinks.blob_writer import DEFAULT_BLOCK_SIZE, DEFAULT_BLOCKS_IN_FLIGHT, write_stream
from sinks.storage_clients import StorageSettings
from targets import parse_targets
from tests.support.memory import peak_rss

CONTAINER = "bench-stream"
CHUNK = 1024 * 1024
CONTENT_DIR_VARIABLE = "BENCH_CONTENT_DIR"
DEFAULT_SIZES_MIB = (1024, 4096)
DEFAULT_ROUNDS = 2
DEFAULT_TUNE_MIB = 256
TUNING = [(block_mib, in_flight) for block_mib in (4, 8, 16) for in_flight in (2, 4, 8)]
ORG, VIEW = "9ab0fcab-c1d4-4b26-963b-a3c33155f853", "2c8b5fd3-67c3-4677-8eb3-e0066c4d2fd7"
Row = dict[str, Any]

# -- one measurement, in its own process ------------------------------------------------------------


def _target(base_url: str) -> dict[str, Any]:
    raw = {
        "name": "bench",
        "connector": "viva_goals",
        "base_url": f"{base_url}/beta",
        "params": {"goals_organization_id": ORG, "explorer_view_id": VIEW},
        "auth": {"kind": "bearer_env", "env": "TEST_GRAPH_TOKEN"},
    }
    return next(iter(parse_targets({"targets": [raw]}).values())).to_input()


def _living_target(api: str, base_url: str) -> dict[str, Any]:
    """A cost details or Salesforce target on the simulator (credentials named by the variables set in `run`)."""
    if api == "cost":
        raw: dict[str, Any] = {
            "name": "bench-cost",
            "connector": "cost_details_report",
            "base_url": base_url,
            "params": {"scope": FIXTURE_COST_SCOPE, "time_period": {"start": "2026-11-01", "end": "2026-11-30"}},
            "auth": {
                "kind": "client_credentials_env",
                "client_id_env": "BENCH_ENTRA_CLIENT_ID",
                "client_secret_env": "BENCH_ENTRA_CLIENT_SECRET",
                "token_url": f"{base_url}/{FIXTURE_ENTRA_TENANT}/oauth2/v2.0/token",
            },
        }
    else:
        raw = {
            "name": "bench-salesforce",
            "connector": "salesforce_bulk_query",
            "base_url": base_url,
            "params": {"query": SALESFORCE_QUERY},
            "auth": {"kind": "bearer_env", "env": "BENCH_SALESFORCE_TOKEN"},  # then base_url is the instance
        }
    return next(iter(parse_targets({"targets": [raw]}).values())).to_input()


def _finished_job(target: dict[str, Any]) -> JobStatus:
    connector = connector_for(target)
    job = connector.start_job()
    while job.state is not JobState.SUCCEEDED:
        job = connector.check_job(job)
    return job


def _activity(target: dict[str, Any], job: JobStatus, size: int, **_: Any) -> int:
    result = download_export({"target": target, "job": job.to_dict(), "instance_id": "bench"})
    assert "manifest" in result, result
    return int(result["bytes"])


def _stream(target: dict[str, Any], job: JobStatus, size: int, *, block_mib: int, in_flight: int, **_: Any) -> int:
    """The activity's transfer alone (no manifest), with the block size and blocks in flight given."""
    container = StorageSettings.from_env().container_client()
    with connector_for(target).open_content(job) as stream:
        written = write_stream(
            container,
            "tune.csv",
            stream.iter_bytes(),
            content_type="text/csv",
            attempt_id="t",
            block_size=block_mib << 20,
            blocks_in_flight=in_flight,
        )
    return written.size


def _plain(target: dict[str, Any], job: JobStatus, size: int, **_: Any) -> int:
    length = csv_length(job.job_id, size)
    settings = StorageSettings.from_env()
    assert settings.connection_string
    service = BlobServiceClient.from_connection_string(
        settings.connection_string, max_block_size=DEFAULT_BLOCK_SIZE, max_single_put_size=DEFAULT_BLOCK_SIZE
    )
    blob = service.get_blob_client(settings.container, "plain-upload.csv")
    with csv_file(content_dir(), job.job_id, size).open("rb") as data:  # written (and cached) before the clock
        blob.upload_blob(
            data, length=length, overwrite=True, max_concurrency=DEFAULT_BLOCKS_IN_FLIGHT, validate_content="md5"
        )
    return length


def _source(target: dict[str, Any], job: JobStatus, size: int, *, api: str = "graph", **_: Any) -> int:
    if api != "graph":
        return _source_parts(target, job, api)
    assert job.download_url
    received = 0
    headers = {"Authorization": f"Bearer {GRAPH_FIXTURE_TOKEN}"}
    with httpx.Client(timeout=60) as client, client.stream("GET", job.download_url, headers=headers) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(CHUNK):
            received += len(chunk)
    return received


def _source_parts(target: dict[str, Any], job: JobStatus, api: str) -> int:
    """Every part read by a plain HTTP client, decoded as the connector would (Salesforce's gzip) and discarded:
    the cost details links as they are, Salesforce's pages by following `Sforce-Locator` to its `null`."""
    received = 0
    urls = [part.url for part in connector_for(target).result_parts(job)]  # from the job: no request
    headers = {"Authorization": f"Bearer {FIXTURE_SALESFORCE_TOKEN}"} if api == "salesforce" else {}
    with httpx.Client(timeout=60, headers=headers) as client:
        while urls:
            url = urls.pop(0)
            with client.stream("GET", url) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes(CHUNK):
                    received += len(chunk)
                locator = response.headers.get("Sforce-Locator")
            if api == "salesforce" and locator and locator != "null":
                urls.append(str(httpx.URL(url).copy_merge_params({"locator": locator})))
    return received


def _read(target: dict[str, Any], job: JobStatus, size: int, **_: Any) -> int:
    """Every part read through the connector and discarded: what the upstream (and reading it) allows."""
    received = 0
    for _part, stream in connector_for(target).iter_result(job):
        for chunk in stream.iter_bytes():
            received += len(chunk)
    return received


SIDES = {"activity": _activity, "stream": _stream, "plain": _plain, "source": _source, "read": _read}


def content_dir() -> Path:
    """Where the simulator keeps the content it sends with sendfile, and plain reads the same bytes from."""
    return Path(os.environ[CONTENT_DIR_VARIABLE])


def _prepare(side: str, target: dict[str, Any], job: JobStatus, size: int) -> None:
    """Untimed: the job's content is written to its file (by the simulator, or here for plain) and on disk."""
    if side == "plain":
        csv_file(content_dir(), job.job_id, size)
    else:
        _source(target, job, size)  # the simulator writes the file as it serves it the first time
    os.sync()


def measure_here(side: str, base_url: str, size: int, block_mib: int, in_flight: int, api: str = "graph") -> Row:
    loopback_only()
    target = _target(base_url) if api == "graph" else _living_target(api, base_url)
    job = _finished_job(target)
    if api == "graph":
        _prepare(side, target, job, size)
    elif side != "plain" and os.environ.get(CONTENT_DIR_VARIABLE):
        _read(target, job, size)  # untimed: the simulator writes each part's file as it serves it the first time
        os.sync()
    gc.collect()
    with peak_rss() as memory:
        began, cpu_began = time.perf_counter(), time.process_time()
        moved = SIDES[side](target, job, size, block_mib=block_mib, in_flight=in_flight, api=api)
        seconds, cpu_s = time.perf_counter() - began, time.process_time() - cpu_began
    mib_s, cpu_per_gib = moved / 2**20 / seconds, cpu_s / (moved / 2**30)
    return {"side": side, "bytes": moved, "mib_s": mib_s, "rss_mib": memory.growth_mib, "cpu_s_per_gib": cpu_per_gib}


def measure(
    side: str,
    base_url: str,
    size: int,
    block_mib: int = 8,
    in_flight: int = 4,
    *,
    api: str = "graph",
    config: dict[str, Any] | None = None,
) -> Row:
    """One measurement in a fresh interpreter; the simulator at `base_url` must serve `size` bytes."""
    os.sync()  # the previous run's writes reach the disk before this one is timed, not during it
    given = {"content_size": size, "chunk_size": CHUNK, "content_file_dir": str(content_dir()), **(config or {})}
    httpx.post(f"{base_url}/_sim/config", json=given).raise_for_status()
    args = [
        "--api",
        api,
        "--side",
        side,
        "--simulator",
        base_url,
        "--size",
        str(size),
        "--block-mib",
        str(block_mib),
        "--in-flight",
        str(in_flight),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.stream_to_blob", *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
    )
    if done.returncode:
        raise RuntimeError(f"{side} run failed: {done.stderr.strip()[-2000:]}")
    row: Row = json.loads(done.stdout.strip().splitlines()[-1])
    return row


@contextlib.contextmanager
def simulator_process() -> Iterator[str]:
    """The upstream simulator in a process of its own, on a free loopback port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "local", "simulator", "--port", str(port), "--job-polls", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the first line says it is listening
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- the section --------------------------------------------------------------------------------------


def _row(label: str, r: Row) -> None:
    figures = f"{r['bytes'] / 2**20:>7.0f}M {r['mib_s']:>8.1f} MiB/s {r['rss_mib']:>8.1f} MiB"
    print(f"{label:<34} {figures} {r['cpu_s_per_gib']:>9.2f} s", flush=True)


def run(sizes_mib: list[int], storage: Azurite, rounds: int = DEFAULT_ROUNDS, tune_mib: int = DEFAULT_TUNE_MIB) -> Row:
    """Source alone, block size x blocks in flight, then activity and plain alternating for every size."""
    use_storage(storage, CONTAINER)
    print("== Streaming: simulator → download_export → Azurite, against upload_blob of the same bytes from memory ==")
    print(f"{'run':<34} {'size':>8} {'throughput':>14} {'peak +RSS':>12} {'CPU/GiB':>9}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-content-") as files, simulator_process() as base_url:
        os.environ[CONTENT_DIR_VARIABLE] = files  # the measurements' processes inherit it
        for size_mib in sizes_mib:
            _row("source alone (httpx, discarded)", measure("source", base_url, size_mib << 20))
        tuning = {(b, k): measure("stream", base_url, tune_mib << 20, b, k) for b, k in TUNING} if tune_mib else {}
        for (block_mib, in_flight), r in tuning.items():
            _row(f"transfer, {block_mib:>2} MiB blocks x {in_flight} in flight", r)
        runs: dict[tuple[str, int], list[Row]] = {}
        for round_ in range(1, rounds + 1):
            for size_mib in sizes_mib:
                for side in ("activity", "plain") if round_ % 2 else ("plain", "activity"):
                    r = measure(side, base_url, size_mib << 20)
                    runs.setdefault((side, size_mib), []).append(r)
                    _row(f"round {round_}: {'download_export' if side == 'activity' else 'plain upload_blob'}", r)
    print(
        f"\n{'size':>8} {'activity MiB/s':>15} {'plain MiB/s':>12} {'ratio':>6} {'ratios':>17} "
        f"{'activity +RSS':>14} {'plain +RSS':>11} {'CPU/GiB act':>12} {'plain':>6}"
    )
    summary: Row = {"tuning": tuning, "sizes": {}}
    for size_mib in sizes_mib:
        act, plain = runs[("activity", size_mib)], runs[("plain", size_mib)]
        pairs = [a["mib_s"] / p["mib_s"] for a, p in zip(act, plain, strict=True)]  # each round's two runs
        a, p = statistics.median(r["mib_s"] for r in act), statistics.median(r["mib_s"] for r in plain)
        a_rss, p_rss = max(r["rss_mib"] for r in act), max(r["rss_mib"] for r in plain)
        a_cpu, p_cpu = (
            statistics.median(r["cpu_s_per_gib"] for r in act),
            statistics.median(r["cpu_s_per_gib"] for r in plain),
        )
        ratio, spread = statistics.median(pairs), f"{min(pairs):.2f}-{max(pairs):.2f}"
        summary["sizes"][size_mib] = {
            "activity_mib_s": a,
            "plain_mib_s": p,
            "ratio": ratio,
            "round_ratios": pairs,
            "activity_rss_mib": a_rss,
            "plain_rss_mib": p_rss,
            "activity_cpu_s_per_gib": a_cpu,
            "plain_cpu_s_per_gib": p_cpu,
        }
        print(
            f"{size_mib:>7}M {a:>15.1f} {p:>12.1f} {ratio:>6.2f} {spread:>17} {a_rss:>11.1f}MiB {p_rss:>8.1f}MiB "
            f"{a_cpu:>10.2f} s {p_cpu:>4.2f} s",
            flush=True,
        )
    print(
        f"(medians of {rounds} alternating rounds; ratio = median over rounds of activity / plain within the round "
        "(the two runs next to each other in time, so a noisy neighbour slows both), ratios = their range; +RSS = "
        "highest peak growth of a run's own process; CPU/GiB = CPU seconds of that process, all threads, per GiB "
        f"moved (the simulator's and Azurite's not included); blocks {DEFAULT_BLOCK_SIZE >> 20} MiB x "
        f"{DEFAULT_BLOCKS_IN_FLIGHT} in flight, Content-MD5 on every block, on both sides)"
    )
    return summary


# -- multi-part results: one blob per part, against one plain upload of the same bytes ---------------------

SALESFORCE_FIELDS = ["Id", "Name", "Industry", "BillingCity", "AnnualRevenue", "LastModifiedDate"]
SALESFORCE_QUERY = "SELECT Id, Name, Industry, BillingCity, AnnualRevenue, LastModifiedDate FROM Account"
MULTI_PART_CASES = [("cost", 1), ("cost", 8), ("salesforce", 1), ("salesforce", 50)]


def _salesforce_rows(size: int) -> int:
    """Rows of the simulator's Salesforce table that make about `size` bytes (values are fixed width)."""
    return table_rows_for(seed_of("750bench"), SALESFORCE_FIELDS, size)


def multi_part_config(api: str, parts: int, size: int) -> dict[str, Any]:
    if api == "cost":
        return {"cost_parts": parts, "cost_retry_after_s": 0}
    rows = _salesforce_rows(size)
    return {"salesforce_records": rows, "salesforce_page_records": -(-rows // parts)}


def run_multi_part(size_mib: int, storage: Azurite, rounds: int = DEFAULT_ROUNDS) -> Row:
    """Cost details in 1 and 8 parts, Salesforce in 1 and 50 pages, each `size_mib` in all, against plain."""
    use_storage(storage, CONTAINER)
    os.environ.update(
        BENCH_ENTRA_CLIENT_ID=FIXTURE_ENTRA_CLIENT_ID,
        BENCH_ENTRA_CLIENT_SECRET=FIXTURE_ENTRA_CLIENT_SECRET,
        BENCH_SALESFORCE_TOKEN=FIXTURE_SALESFORCE_TOKEN,
    )
    size = size_mib << 20
    print(f"== Multi-part results: {size_mib} MiB in all, one blob per part, against one plain upload_blob ==")
    print(f"{'run':<34} {'size':>8} {'throughput':>14} {'peak +RSS':>12} {'CPU/GiB':>9}", flush=True)
    runs: dict[str, list[Row]] = {}
    source_of: dict[str, str] = {}  # a case's label -> the label of its source alone
    with tempfile.TemporaryDirectory(prefix="bench-content-") as files, simulator_process() as base_url:
        os.environ[CONTENT_DIR_VARIABLE] = files
        for round_ in range(1, rounds + 1):
            for api, parts in MULTI_PART_CASES:
                config = multi_part_config(api, parts, size)
                sides = [("source", "source alone"), ("read", "read only"), ("activity", "activity")]
                for side, what in sides:
                    label = f"{api} x {parts} {what}"
                    source_of[label] = f"{api} x {parts} source alone"
                    r = measure(side, base_url, size, api=api, config=config)
                    runs.setdefault(label, []).append(r)
                    _row(f"round {round_}: {label}", r)
            r = measure("plain", base_url, size)
            runs.setdefault("plain", []).append(r)
            _row(f"round {round_}: plain upload_blob", r)
    plain = statistics.median(r["mib_s"] for r in runs["plain"])
    print(f"\n{'case':<34} {'MiB/s':>8} {'vs plain':>9} {'vs source':>10} {'peak +RSS':>10} {'CPU/GiB':>8}")
    summary: Row = {"size_mib": size_mib, "plain_mib_s": plain, "cases": {}}
    for label, rows in runs.items():
        mib_s, rss = statistics.median(r["mib_s"] for r in rows), max(r["rss_mib"] for r in rows)
        cpu = statistics.median(r["cpu_s_per_gib"] for r in rows)
        source_rows = runs[source_of[label]] if label in source_of and source_of[label] != label else None
        source = statistics.median(r["mib_s"] for r in source_rows) if source_rows else None
        summary["cases"][label] = {"mib_s": mib_s, "ratio": mib_s / plain, "rss_mib": rss, "cpu_s_per_gib": cpu}
        versus = f"{mib_s / source:>10.2f}" if source else f"{'':>10}"
        print(f"{label:<34} {mib_s:>8.1f} {mib_s / plain:>9.2f} {versus} {rss:>7.1f}MiB {cpu:>6.2f} s", flush=True)
    print(
        f"(medians of {rounds} rounds; every part (Salesforce's pages gzip-compressed, as the connector asks) is "
        "written to a file by the simulator before the clock starts and sent with sendfile, as the single-blob "
        "case's content is; 'source alone' = the parts read by plain httpx (gzip decoded) and discarded, 'read "
        "only' = read through the connector and discarded; +RSS = the highest peak growth of a run's own process)"
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks --only streaming` runs the section; `--side` is one measurement (used by it)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", choices=sorted(SIDES))
    parser.add_argument("--simulator", help="base URL of a running simulator (with --side)")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZES_MIB[0] << 20, help="bytes (with --side)")
    parser.add_argument("--block-mib", type=int, default=DEFAULT_BLOCK_SIZE >> 20)
    parser.add_argument("--in-flight", type=int, default=DEFAULT_BLOCKS_IN_FLIGHT)
    parser.add_argument("--size-mib", type=int, nargs="+", default=list(DEFAULT_SIZES_MIB))
    parser.add_argument("--api", choices=("graph", "cost", "salesforce"), default="graph", help="(with --side)")
    parser.add_argument(
        "--multi-part-mib", type=int, help="run only the multi-part case, at this size (keep it at 256 or less)"
    )
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    args = parser.parse_args(argv)
    if args.side:
        row = measure_here(args.side, args.simulator, args.size, args.block_mib, args.in_flight, args.api)
        print(json.dumps(row))
        return 0
    with shared_azurite() as storage:
        if args.multi_part_mib:
            run_multi_part(args.multi_part_mib, storage, args.rounds)
        else:
            run(args.size_mib, storage, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
