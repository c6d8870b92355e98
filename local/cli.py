"""`python -m local run TARGET --targets FILE`: one export through the local Durable runner.

Progress goes to stderr; stdout gets exactly one JSON summary, so the command
composes with other tools. Exit code 0 only when the export succeeded; any
failure ends with one readable line on stderr. The runner's history is kept in
the export storage account unless `--history memory`, so a run cut short
(Ctrl-C, a crash) resumes when repeated with the same `--run-key` instead of
starting a second upstream job. One process at a time drives a run: a second
one with the same key is refused with exit code 75 (see `blob_store`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import app_functions
from local import azurite
from local.progress import ProgressPrinter
from local.runner import (
    BlobHistoryStore,
    HistoryStore,
    LocalRunner,
    MemoryHistoryStore,
    OrchestrationResult,
    RunnerEvent,
)
from local.runner.blob_store import LEASE_LIMITS, LEASE_SECONDS, DriverConflict
from orchestrators import names
from orchestrators.contracts import ExportProgress
from orchestrators.export_state import ExportInput
from orchestrators.instance_ids import export_instance_id
from sinks.storage_clients import StorageSettings
from targets import Target, TargetsError, load_targets
from versioned import UnsupportedVersion

AZURITE_DEFAULT = "UseDevelopmentStorage=true"
HISTORY_CONTAINER = "runner-history"
INTERRUPTED = 130  # the shell's code for a process ended by Ctrl-C
DRIVEN_ELSEWHERE = 75  # sysexits' EX_TEMPFAIL: another process drives this run; retrying later is the remedy
EXIT_CODES = (
    "exit status: 0 the export succeeded; 1 it failed; 2 bad arguments or targets file, or the run's saved history "
    "is of a release this one does not read; "
    f"{DRIVEN_ELSEWHERE} another process is driving the same run (same --run-key) or took it over: this one "
    f"stopped without saving or starting anything more; {INTERRUPTED} interrupted (repeat with the same --run-key "
    "to resume)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local run", description="Run one export target locally.", epilog=EXIT_CODES
    )
    parser.add_argument("target", help="name of the target in the targets file")
    parser.add_argument("--targets", type=Path, required=True, help="targets file (YAML or JSON)")
    parser.add_argument("--timer-scale", type=float, default=1.0, help="real seconds per durable-timer second")
    parser.add_argument("--run-key", help="idempotency key; the same key resumes/returns the same run")
    parser.add_argument(
        "--storage-connection-string",
        help="export storage (default: $EXPORTS_STORAGE_CONNECTION_STRING, else Azurite on its default ports)",
    )
    parser.add_argument("--container", help="blob container (default: $EXPORTS_CONTAINER or 'exports')")
    parser.add_argument(
        "--history",
        choices=("memory", "azurite"),
        default="azurite",
        help=f"where the runner keeps its history (default: azurite, container {HISTORY_CONTAINER!r} of the export "
        "storage, so a re-run with the same --run-key after a crash resumes)",
    )
    parser.add_argument(
        "--lease-seconds",
        type=int,
        default=LEASE_SECONDS,
        help=f"how long the history lease of a process killed outright blocks a resume ({LEASE_LIMITS[0]}-"
        f"{LEASE_LIMITS[1]}, default {LEASE_SECONDS}); a live process renews it",
    )
    parser.add_argument(
        "--take-over",
        action="store_true",
        help="break another process's history lease and resume its run: only when that process is surely gone "
        "(a live one stops at its next save, but work it had started may be done twice)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def configure_storage(args: argparse.Namespace) -> None:
    """Activities read storage settings from the environment, as they do in the Function App."""
    if args.storage_connection_string:
        os.environ["EXPORTS_STORAGE_CONNECTION_STRING"] = args.storage_connection_string
    elif not os.environ.get("EXPORTS_STORAGE_CONNECTION_STRING") and not os.environ.get("EXPORTS_BLOB_ACCOUNT_URL"):
        os.environ["EXPORTS_STORAGE_CONNECTION_STRING"] = AZURITE_DEFAULT
    if args.container:
        os.environ["EXPORTS_CONTAINER"] = args.container
    # What the deployment does in Azure: the container and the events queue exist before any activity runs.
    azurite.provision(StorageSettings.from_env())


def history_store(
    kind: str, *, lease_seconds: int = LEASE_SECONDS, take_over: bool = False
) -> BlobHistoryStore | MemoryHistoryStore:
    """`azurite` keeps the history next to the exports, so it outlives this process; `memory` dies with it."""
    if kind == "memory":
        return MemoryHistoryStore()
    settings = replace(StorageSettings.from_env(), container=HISTORY_CONTAINER)
    return BlobHistoryStore(settings.container_client(create=True), lease_seconds=lease_seconds, take_over=take_over)


def local_runner(
    *, timer_scale: float, on_event: Callable[[RunnerEvent], None] | None = None, store: HistoryStore | None = None
) -> LocalRunner:
    """A runner that knows every orchestrator and activity the Function App registers (`app_functions`)."""
    return LocalRunner(
        app_functions.ORCHESTRATORS, app_functions.ACTIVITIES, timer_scale=timer_scale, on_event=on_event, store=store
    )


def run_export(
    target: Target,
    *,
    run_key: str,
    timer_scale: float,
    progress: ProgressPrinter | None = None,
    runner: LocalRunner | None = None,
    store: HistoryStore | None = None,
) -> OrchestrationResult:
    runner = runner or local_runner(timer_scale=timer_scale, on_event=progress, store=store)
    request = ExportInput(target=target, run_key=run_key)
    return runner.run(names.EXPORT_ORCHESTRATION, request.to_dict(), export_instance_id(target.name, run_key))


def summary(target: Target, result: OrchestrationResult) -> dict[str, Any]:
    output = result.output if isinstance(result.output, dict) else {}
    progress = ExportProgress.read(result.custom_status)
    return {
        "instance_id": result.instance_id,
        "target": target.name,
        "connector": target.connector,
        "status": "succeeded" if result.status == "Completed" else "failed",
        "runtime_status": result.status,
        "job_id": output.get("job_id") or (progress.job_id if progress else None),
        "blob": output.get("blob"),
        "manifest": output.get("manifest"),
        **{key: output[key] for key in ("parts", "bytes", "no_data") if key in output},
        "polls": output.get("polls", progress.polls if progress else None),
        "recreations": output.get("recreations", progress.recreations if progress else None),
        "generations": result.generations,
        "event": output.get("event"),
        "error": result.error,
    }


def run_main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    # A local run is local development: a targets file may name the simulator on 127.0.0.1 unless told otherwise.
    os.environ.setdefault("EXPORTS_ALLOW_LOOPBACK_UPSTREAMS", "true")
    try:
        targets = load_targets(args.targets)
        if args.target not in targets:
            raise TargetsError(f"{args.targets.name}: no target named {args.target!r}; have {', '.join(targets)}")
        if args.timer_scale < 0:
            raise TargetsError("--timer-scale must be >= 0")
        if not LEASE_LIMITS[0] <= args.lease_seconds <= LEASE_LIMITS[1]:
            raise TargetsError(f"--lease-seconds must be within {LEASE_LIMITS[0]}-{LEASE_LIMITS[1]}")
    except TargetsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    target = targets[args.target]
    configure_storage(args)
    # The history outlives this process, so a generated key must not meet an earlier run's within one second.
    run_key = args.run_key or datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
    store = history_store(args.history, lease_seconds=args.lease_seconds, take_over=args.take_over)
    try:
        result = run_export(
            target,
            run_key=run_key,
            timer_scale=args.timer_scale,
            progress=ProgressPrinter(quiet=args.quiet),
            store=store,
        )
    except DriverConflict as exc:
        print(f"error: {exc}", file=sys.stderr)
        return DRIVEN_ELSEWHERE
    except UnsupportedVersion as exc:  # nothing was started: finish that run with the release that saved it
        print(f"error: run {run_key}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the key may have been generated: without it the saved run cannot be found
        resume = f"; repeat with --run-key {run_key} to resume" if args.history == "azurite" else ""
        print(f"error: interrupted{resume}", file=sys.stderr)
        return INTERRUPTED
    finally:
        store.close()  # releases the history leases, so a repeat resumes at once
    print(json.dumps(summary(target, result), indent=2))
    if result.status != "Completed":
        print(f"error: {result.message or result.status}", file=sys.stderr)
        return 1
    return 0
