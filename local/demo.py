"""`make demo`: the whole pipeline on one machine, nothing to configure.

Starts Azurite (loopback, telemetry off) and the upstream simulator, writes a
targets file with one target of each of the six connectors (the seeds Viva
Goals and SailPoint, and the specs of Intune reports, Power BI ExportTo, cost
details and Salesforce Bulk 2.0) pointing at it, runs each through the
production orchestrator on the local runner (timers scaled down), then shows
the parts each export stored, the blobs, manifests and events it produced,
each target's freshness and the run history the runner kept, and stops what it
started.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml
from azure.storage.blob import BlobServiceClient
from rich.console import Console

from local import azurite
from local.cli import history_store, run_export, summary
from local.operate import freshness_main, runs_main
from local.progress import ProgressPrinter
from local.simulator import (
    FIXTURE_ENTRA_CLIENT_ID,
    FIXTURE_ENTRA_CLIENT_SECRET,
    FIXTURE_SALESFORCE_CLIENT_ID,
    FIXTURE_SALESFORCE_CLIENT_SECRET,
    GRAPH_FIXTURE_TOKEN,
    SAILPOINT_FIXTURE_CLIENT,
    SAILPOINT_FIXTURE_SECRET,
    Simulator,
    SimulatorConfig,
    run_simulator,
)
from local.simulator.config import FIXTURE_COST_SCOPE, FIXTURE_POWERBI_GROUP, FIXTURE_POWERBI_REPORT
from sinks.manifest import read_manifest
from sinks.storage_clients import StorageSettings
from targets import parse_targets

VIVA_VIEW_URL = (
    "https://goals.microsoft.com/org_uuid/9ab0fcab-c1d4-4b26-963b-a3c33155f853/objective-explorer"
    "?viewId=2c8b5fd3-67c3-4677-8eb3-e0066c4d2fd7"
)

# The demo's targets have no schedule, so they declare how old an export may get (else they are never checked).
DEMO_FRESHNESS = {"warn_after": "26h", "error_after": "50h"}


def demo_targets(graph_base: str, sailpoint_base: str, sim: Simulator | None = None) -> dict[str, object]:
    living = living_targets(sim) if sim is not None else []
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
            *living,
        ]
    }


def living_targets(sim: Simulator) -> list[dict[str, object]]:
    """One target of each living API's spec; Entra and Salesforce client credentials named by variable."""
    entra = {
        "kind": "client_credentials_env",
        "client_id_env": "DEMO_ENTRA_CLIENT_ID",
        "client_secret_env": "DEMO_ENTRA_CLIENT_SECRET",
        "token_url": sim.entra_token_url(),
    }
    common = {"poll": {"deadline_s": 3600}, "freshness": DEMO_FRESHNESS}
    return [
        {
            "name": "intune-demo",
            "connector": "intune_report_export",
            "base_url": sim.intune_base_url,
            "params": {"report_name": "Devices", "select": ["DeviceId", "DeviceName", "OS", "OSVersion"]},
            "auth": entra,
            **common,
        },
        {
            "name": "powerbi-demo",
            "connector": "powerbi_export_to_file",
            "base_url": sim.powerbi_base_url,
            "params": {"group_id": FIXTURE_POWERBI_GROUP, "report_id": FIXTURE_POWERBI_REPORT, "format": "CSV"},
            "auth": entra,
            **common,
        },
        {
            "name": "costs-demo",
            "connector": "cost_details_report",
            "base_url": sim.cost_base_url,
            "params": {"scope": FIXTURE_COST_SCOPE, "time_period": {"start": "2026-11-01", "end": "2026-11-30"}},
            "auth": entra,
            **common,
        },
        {
            "name": "salesforce-demo",
            "connector": "salesforce_bulk_query",
            "base_url": sim.salesforce_login_url,
            "params": {"query": "SELECT Id, Name, Industry FROM Account"},
            "auth": {
                "kind": "client_credentials_env",
                "client_id_env": "DEMO_SALESFORCE_CLIENT_ID",
                "client_secret_env": "DEMO_SALESFORCE_CLIENT_SECRET",
            },
            **common,
        },
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local demo", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path(".demo"))
    parser.add_argument("--timer-scale", type=float, default=0.02)
    parser.add_argument("--content-size", type=int, default=8 * 1024 * 1024)
    args = parser.parse_args(argv)
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    config = SimulatorConfig(job_polls=4, retry_after_s=30, content_size=args.content_size)
    config.update({"cost_parts": 3, "salesforce_records": 5000, "salesforce_page_records": 2000})
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
            DEMO_ENTRA_CLIENT_ID=FIXTURE_ENTRA_CLIENT_ID,
            DEMO_ENTRA_CLIENT_SECRET=FIXTURE_ENTRA_CLIENT_SECRET,
            DEMO_SALESFORCE_CLIENT_ID=FIXTURE_SALESFORCE_CLIENT_ID,
            DEMO_SALESFORCE_CLIENT_SECRET=FIXTURE_SALESFORCE_CLIENT_SECRET,
        )
        azurite.provision(StorageSettings.from_env())
        document = demo_targets(sim.graph_base_url, sim.sailpoint_base_url("v2025"), sim)
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
        show_parts(console, storage.connection_string, results)
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
    console.print(
        f"\n[green]demo finished: all {len(results)} exports are in Blob Storage and their events are on the "
        "queue[/green]"
    )
    return 0


def show_parts(console: Console, connection_string: str, results: list[dict[str, Any]]) -> None:
    """What each export stored, from its manifest: its one blob, or every part in order, and its cleanup."""
    settings = StorageSettings(connection_string, None, None)
    container = BlobServiceClient.from_connection_string(connection_string).get_container_client(settings.container)
    console.print("\n[bold]Stored parts per export[/bold] (from each manifest):")
    for result in results:
        if not result.get("manifest"):
            console.print(f"  {result['target']}: nothing stored ({result['status']})")
            continue
        manifest = read_manifest(container, result["manifest"])
        if manifest is None:
            continue
        parts = manifest.stored_parts()
        cleanup = (
            "" if manifest.cleanup is None else f", upstream cleanup {'failed' if manifest.cleanup.error else 'done'}"
        )
        what = "no data" if manifest.no_data else f"{len(parts)} part(s), {manifest.total_size():,} bytes"
        console.print(f"  [bold]{result['target']}[/bold] ({result['connector']}): {what}{cleanup}")
        for part in parts:
            console.print(f"    {part.name}  {part.size:,} bytes  {part.content_type}  sha256 {part.sha256[:12]}")


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
