"""`python -m local freshness` and `python -m local runs`: what an operator asks of a storage account.

`freshness --targets FILE` prints each target's last success, the age of its `latest.json` and its state
against its limits (`sinks.freshness`), read only: nothing is written or published. `runs` prints the export
runs the local runner kept in the export storage account (container `runner-history`, as `python -m local run`
keeps them): target, started, finished, outcome, bytes, status calls, re-creations and the last error, newest
first, filtered like `GET /api/exports` (`triggers.run_history`). Both print a table on stdout, or JSON lines
with `--json`; storage is `--storage-connection-string`, else `$EXPORTS_STORAGE_CONNECTION_STRING`, else
Azurite on its default ports.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError
from azure.storage.blob import ContainerClient

from kernel.redaction import clip
from kernel.timestamps import parse_timestamp, to_iso
from local.cli import AZURITE_DEFAULT, HISTORY_CONTAINER
from local.runner.blob_store import PREFIX
from local.runner.history import EventType
from local.runner.store import StoredInstance
from orchestrators import names
from orchestrators.contracts import ExportProgress
from sinks.freshness import FreshnessRow, freshness_table
from sinks.storage_clients import StorageSettings
from targets import TargetsError, load_targets
from triggers.run_history import BadQuery, outcome_of, parse_query
from versioned import UnsupportedVersion

log = logging.getLogger(__name__)

MAX_ERROR_SHOWN = 80


def _storage_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage-connection-string", help="default: $EXPORTS_STORAGE_CONNECTION_STRING, else Azurite")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")


def _settings(args: argparse.Namespace) -> StorageSettings:
    connection_string = (
        args.storage_connection_string or os.environ.get("EXPORTS_STORAGE_CONNECTION_STRING") or AZURITE_DEFAULT
    )
    return StorageSettings.from_env({**os.environ, "EXPORTS_STORAGE_CONNECTION_STRING": connection_string})


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


# -- freshness ------------------------------------------------------------------------------------------------


def freshness_rows(targets_file: Path, container: ContainerClient, now: datetime | None = None) -> list[FreshnessRow]:
    return freshness_table(load_targets(targets_file).values(), container, now or datetime.now(UTC))


def freshness_text(rows: Iterable[FreshnessRow]) -> str:
    return table(
        ("target", "last success", "age", "state"),
        ((r.target, r.last_success or "never", age_text(r.age_s), r.state) for r in rows),
    )


def freshness_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local freshness", description="Freshness of every target.")
    parser.add_argument("--targets", type=Path, required=True, help="targets file (YAML or JSON)")
    _storage_args(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault("EXPORTS_ALLOW_LOOPBACK_UPSTREAMS", "true")  # a local targets file may name the simulator
    try:
        rows = freshness_rows(args.targets, _settings(args).container_client())
    except TargetsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AzureError as exc:
        return _storage_failed(exc)
    print("\n".join(json.dumps(r.to_json()) for r in rows) if args.json else freshness_text(rows))
    return 0


def _storage_failed(exc: AzureError) -> int:
    """Exit 1 with the storage error's first line (bounded): the table could not be read."""
    print(f"error: storage: {clip(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 300)}", file=sys.stderr)
    return 1


# -- runs -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    instance_id: str
    target: str | None
    started: str | None
    finished: str | None
    outcome: str
    bytes: int | None
    polls: int | None
    recreations: int | None
    last_error: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _times(instance: StoredInstance) -> tuple[str | None, str | None]:
    stamps = [parse_timestamp(e.get("Timestamp")) for e in instance.history if isinstance(e, dict)]
    known = [s for s in stamps if s is not None]
    started_event = next(
        (e for e in instance.history if isinstance(e, dict) and e.get("EventType") == EventType.EXECUTION_STARTED),
        None,
    )
    started = parse_timestamp(started_event.get("Timestamp")) if started_event else (min(known) if known else None)
    finished = max(known) if known and instance.status != "Running" else None
    return (to_iso(started) if started else None), (to_iso(finished) if finished else None)


def run_row(instance_id: str, instance: StoredInstance) -> RunRow:
    """One export run as the local runner stored it (its current generation's history and outcome)."""
    try:
        data = json.loads(instance.input or "null")
    except ValueError:
        data = None
    data = data if isinstance(data, dict) else {}
    target = data.get("target", {}).get("name") if isinstance(data.get("target"), dict) else None
    state: dict[str, Any] = data["state"] if isinstance(data.get("state"), dict) else {}
    started, finished = _times(instance)
    started = state.get("started_at") or started  # a continued run started in its first generation
    output = instance.output if isinstance(instance.output, dict) else {}
    progress = ExportProgress.read(instance.custom_status)
    blob: dict[str, Any] = output["blob"] if isinstance(output.get("blob"), dict) else {}
    error = instance.error or (progress.last_error if progress else None)
    return RunRow(
        instance_id=instance_id,
        target=target or (progress.target if progress else None),
        started=started,
        finished=finished,
        outcome=outcome_of(instance.status),
        bytes=blob.get("size") if isinstance(blob.get("size"), int) else (progress.bytes if progress else None),
        polls=output.get("polls", progress.polls if progress else None),
        recreations=output.get("recreations", progress.recreations if progress else None),
        last_error=clip(" ".join(error.split()), 1000) if error else None,
    )


def stored_runs(history: ContainerClient) -> list[RunRow]:
    """Every export run the runner's store holds (other orchestrations, e.g. the scheduler, are left out)."""
    rows = []
    for item in history.list_blobs(name_starts_with=PREFIX):
        try:
            instance = StoredInstance.from_dict(json.loads(history.download_blob(item.name).readall()))
        except UnsupportedVersion as exc:  # one run saved by another release does not hide the others
            log.warning("run %s not shown: %s", item.name.removeprefix(PREFIX), exc)
            continue
        except (ValueError, TypeError, AzureError):
            continue
        if instance.name != names.EXPORT_ORCHESTRATION:
            continue
        started = next(
            (e for e in instance.history if isinstance(e, dict) and e.get("EventType") == EventType.EXECUTION_STARTED),
            {},
        )
        instance_id = started.get("OrchestrationInstance", {}).get("InstanceId") if isinstance(started, dict) else None
        rows.append(run_row(str(instance_id or item.name.removeprefix(PREFIX)), instance))
    return rows


def select_runs(rows: Iterable[RunRow], params: dict[str, str], now: datetime | None = None) -> list[RunRow]:
    query = parse_query(params, now)
    wanted = {outcome_of(s) for s in query.statuses}
    chosen = [
        r
        for r in rows
        if (query.target is None or r.target == query.target)
        and r.outcome in wanted
        and (query.since is None or ((t := parse_timestamp(r.started)) is not None and t >= query.since))
    ]
    return sorted(chosen, key=lambda r: (r.started or "", r.instance_id), reverse=True)


def runs_text(rows: Iterable[RunRow]) -> str:
    def cell(value: object) -> str:
        return "-" if value is None else str(value)

    return table(
        ("target", "started", "finished", "outcome", "bytes", "polls", "re-creations", "last error"),
        (
            (
                cell(r.target),
                cell(r.started),
                cell(r.finished),
                r.outcome,
                f"{r.bytes:,}" if r.bytes is not None else "-",
                cell(r.polls),
                cell(r.recreations),
                clip(r.last_error, MAX_ERROR_SHOWN) if r.last_error else "-",
            )
            for r in rows
        ),
    )


def runs_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local runs", description="Export runs the local runner kept.")
    parser.add_argument("--target", help="only this target's runs")
    parser.add_argument("--status", help="succeeded, failed, terminated, running (comma-separated)")
    parser.add_argument("--since", help="an ISO 8601 instant with its zone, or a duration back from now (24h, 7d)")
    _storage_args(parser)
    args = parser.parse_args(argv)
    params = {k: v for k, v in {"target": args.target, "status": args.status, "since": args.since}.items() if v}
    settings = _settings(args)
    history = settings.blob_service().get_container_client(HISTORY_CONTAINER)
    try:
        rows = select_runs(stored_runs(history) if history.exists() else [], params)
    except BadQuery as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AzureError as exc:
        return _storage_failed(exc)
    print("\n".join(json.dumps(r.to_json()) for r in rows) if args.json else runs_text(rows))
    return 0
