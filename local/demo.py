"""`make demo`: the whole pipeline on one machine, nothing to configure.

Starts Azurite (loopback, telemetry off) and the upstream simulator, writes a
targets file with one Viva Goals and one SailPoint target pointing at it, runs
both through the production orchestrator on the local runner (timers scaled
down), then shows the blobs, manifests and events it produced, each target's
freshness and the run history the runner kept, and stops what it started.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import yaml
from azure.storage.blob import BlobServiceClient
from rich.console import Console

from local import azurite
from local.cli import history_store, run_export, summary
from local.operate import freshness_main, runs_main
from local.progress import ProgressPrinter
from local.simulator import (
    GRAPH_FIXTURE_TOKEN,
    SAILPOINT_FIXTURE_CLIENT,
    SAILPOINT_FIXTURE_SECRET,
    SimulatorConfig,
    run_simulator,
)
from sinks.storage_clients import StorageSettings
from targets import parse_targets

VIVA_VIEW_URL = (
    "https://goals.microsoft.com/org_uuid/9ab0fcab-c1d4-4b26-963b-a3c33155f853/objective-explorer"
    "?viewId=2c8b5fd3-67c3-4677-8eb3-e0066c4d2fd7"
)

# The demo's targets have no schedule, so they declare how old an export may get (else they are never checked).
DEMO_FRESHNESS = {"warn_after": "26h", "error_after": "50h"}


def demo_targets(graph_base: str, sailpoint_base: str) -> dict[str, object]:
    return {
        "targets": [
            {
                "name": "goals-demo",
                "connector": "viva_goals",
                "base_url": graph_base,
                "params": {"explorer_view_url": VIVA_VIEW_URL},
                "auth": {"kind": "bearer_env", "env": "DEMO_GRAPH_TOKEN"},
                "poll": {"deadline_s": 3600},
                "freshness": DEMO_FRESHNESS,
            },
            {
                "name": "sailpoint-demo",
                "connector": "sailpoint",
                "base_url": sailpoint_base,
                "params": {"description": "demo export", "include_types": ["RULE", "SOURCE", "TRANSFORM"]},
                "auth": {
                    "kind": "client_credentials_env",
                    "client_id_env": "DEMO_SAILPOINT_CLIENT_ID",
                    "client_secret_env": "DEMO_SAILPOINT_CLIENT_SECRET",
                },
                "poll": {"floor_s": 5, "ceiling_s": 60, "deadline_s": 3600},
                "freshness": DEMO_FRESHNESS,
            },
        ]
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local demo", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path(".demo"))
    parser.add_argument("--timer-scale", type=float, default=0.02)
    parser.add_argument("--content-size", type=int, default=8 * 1024 * 1024)
    args = parser.parse_args(argv)
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    config = SimulatorConfig(job_polls=4, retry_after_s=30, content_size=args.content_size)
    shutil.rmtree(args.workdir / "azurite", ignore_errors=True)  # each demo starts from empty storage
    with azurite.running(args.workdir / "azurite") as storage, run_simulator(config) as sim:
        console.print(f"[bold]Azurite[/bold] blob {storage.blob_endpoint}  queue {storage.queue_endpoint}")
        console.print(f"[bold]Upstream simulator[/bold] {sim.base_url}")
        os.environ.update(
            EXPORTS_STORAGE_CONNECTION_STRING=storage.connection_string,
            EXPORTS_ALLOW_LOOPBACK_UPSTREAMS="true",  # the upstreams are the simulator on 127.0.0.1
            DEMO_GRAPH_TOKEN=GRAPH_FIXTURE_TOKEN,
            DEMO_SAILPOINT_CLIENT_ID=SAILPOINT_FIXTURE_CLIENT,
            DEMO_SAILPOINT_CLIENT_SECRET=SAILPOINT_FIXTURE_SECRET,
        )
        azurite.provision(StorageSettings.from_env())
        document = demo_targets(sim.graph_base_url, sim.sailpoint_base_url("v2025"))
        targets_file = args.workdir / "targets.yaml"
        targets_file.write_text(yaml.safe_dump(document, sort_keys=False))
        console.print(f"targets file: {targets_file}\n")
        results = []
        store = history_store("azurite")  # kept, so that `python -m local runs` shows what the demo did
        try:
            for target in parse_targets(document, targets_file.name).values():
                progress = ProgressPrinter(console)
                result = run_export(
                    target, run_key="demo", timer_scale=args.timer_scale, progress=progress, store=store
                )
                results.append(summary(target, result))
        finally:
            store.close()
        print(json.dumps(results, indent=2))
        show_outputs(console, storage.connection_string)
        sys.stdout.flush()
        console.print("\n[bold]Freshness[/bold] (python -m local freshness --targets ...):")
        freshness_main(["--targets", str(targets_file)])
        console.print("\n[bold]Run history[/bold] (python -m local runs):")
        runs_main([])
    failed = [r["target"] for r in results if r["status"] != "succeeded"]
    if failed:
        console.print(f"[red]demo failed for: {', '.join(failed)}[/red]")
        return 1
    console.print("\n[green]demo finished: both exports are in Blob Storage and both events are on the queue[/green]")
    return 0


def show_outputs(console: Console, connection_string: str) -> None:
    settings = StorageSettings(connection_string, None, None)
    container = BlobServiceClient.from_connection_string(connection_string).get_container_client(settings.container)
    console.print(f"\n[bold]Blobs in container '{settings.container}':[/bold]")
    for blob in container.list_blobs():
        console.print(f"  {blob.name}  {blob.size:,} bytes  {blob.content_settings.content_type}")
    console.print(f"[bold]Events on queue '{settings.queue}':[/bold]")
    for message in settings.queue_client().peek_messages(max_messages=32):
        event = json.loads(message.content)
        console.print(f"  {event['type']}  subject={event.get('subject')}  id={event['id']}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
