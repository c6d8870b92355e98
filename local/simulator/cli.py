"""`python -m local simulator`: run the upstream simulator in the foreground on loopback."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from local.simulator.config import (
    FIXTURE_COST_SCOPE,
    FIXTURE_ENTRA_CLIENT_ID,
    FIXTURE_ENTRA_CLIENT_SECRET,
    FIXTURE_POWERBI_GROUP,
    FIXTURE_POWERBI_REPORT,
    FIXTURE_SALESFORCE_CLIENT_ID,
    FIXTURE_SALESFORCE_CLIENT_SECRET,
    GRAPH_FIXTURE_TOKEN,
    SAILPOINT_FIXTURE_CLIENT,
    SAILPOINT_FIXTURE_SECRET,
    SimulatorConfig,
)
from local.simulator.server import run_simulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--job-polls", type=int, default=2, help="status polls before a job finishes (0: by time)")
    parser.add_argument("--job-duration", type=float, default=0.0, help="seconds a job takes when --job-polls 0")
    parser.add_argument("--retry-after", type=int, default=1, help="Graph Retry-After seconds (-1: none)")
    parser.add_argument("--content-size", type=int, default=64 * 1024, help="bytes of generated content")
    parser.add_argument("--fail-jobs", type=int, default=0, help="the next N jobs fail")
    for quirk in ("wrap-value", "hyphen-timestamps", "quoted-location"):
        parser.add_argument(f"--{quirk}", action="store_true", help=f"Graph quirk: {quirk.replace('-', ' ')}")
    return parser


def config_from(args: argparse.Namespace) -> SimulatorConfig:
    return SimulatorConfig(
        job_polls=args.job_polls or None,
        job_duration_s=args.job_duration,
        retry_after_s=None if args.retry_after < 0 else args.retry_after,
        content_size=args.content_size,
        fail_jobs=args.fail_jobs,
        wrap_value=args.wrap_value,
        hyphen_timestamps=args.hyphen_timestamps,
        quoted_location=args.quoted_location,
    )


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with run_simulator(config_from(args), host=args.host, port=args.port) as sim:
        print(f"upstream simulator listening on {sim.base_url} (Ctrl-C to stop)")
        print(f"  Viva Goals base_url: {sim.graph_base_url}   bearer token (fixture): {GRAPH_FIXTURE_TOKEN}")
        print(f"  SailPoint  base_url: {sim.sailpoint_base_url()}   token_url: {sim.sailpoint_token_url}")
        print(f"  SailPoint client (fixture): {SAILPOINT_FIXTURE_CLIENT} / {SAILPOINT_FIXTURE_SECRET}")
        print(
            f"  Entra token_url: {sim.entra_token_url()}   client (fixture): {FIXTURE_ENTRA_CLIENT_ID} / "
            f"{FIXTURE_ENTRA_CLIENT_SECRET}"
        )
        print(f"  Intune     base_url: {sim.intune_base_url}   result links on {sim.blob_base_url}")
        print(
            f"  Power BI   base_url: {sim.powerbi_base_url}   group {FIXTURE_POWERBI_GROUP}, "
            f"report {FIXTURE_POWERBI_REPORT}"
        )
        print(f"  Cost details base_url: {sim.cost_base_url}   scope {FIXTURE_COST_SCOPE}")
        print(
            f"  Salesforce token_url: {sim.salesforce_token_url}   client (fixture): {FIXTURE_SALESFORCE_CLIENT_ID} / "
            f"{FIXTURE_SALESFORCE_CLIENT_SECRET}"
        )
        print("  point a target at it: base_url as above; export the fixture credentials into the env")
        print("  variables the target's auth names (e.g. VIVA_GOALS_TOKEN, SAILPOINT_CLIENT_ID/SECRET)", flush=True)
        stop.wait()
    return 0
