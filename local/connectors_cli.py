"""`python -m local connectors list|check`: the connector specs this deployment has, and what one would send.

`list` prints each spec (built-in and the deployment's directory): its name, its API's origin, its auth profile.
`check FILE` validates one spec (one line naming the key and what was expected, exit code 2, when it is wrong);
with `--targets FILE --target NAME` it also prints the requests it would send for that target, filled with a
fake job, without any network and without reading a credential. Exit codes: 0 valid, 2 invalid or bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from connectors.http.urls import origin_of
from connectors.spec.engine import PlannedRequest, SpecConnector
from connectors.spec.loader import SpecError, configured_specs, load_spec, load_specs
from connectors.spec.model import ConnectorSpec, RequestSpec
from kernel.errors import UpstreamError

FAKE_JOB_ID = "FAKE-JOB-ID"


class NoTokens:
    """A token provider that refuses: `check` never sends anything, so it never needs a token."""

    def get_token(self, *, force_refresh: bool = False) -> str:
        raise RuntimeError("connectors check sends nothing and reads no credential")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local connectors", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="each spec, its origin and its auth profile")
    listing.add_argument("--specs-dir", type=Path, help="a deployment's own spec directory (else the app setting)")
    check = commands.add_parser("check", help="validate a spec; with a target, print what it would send")
    check.add_argument("file", type=Path)
    check.add_argument("--targets", type=Path, help="a targets file (YAML or JSON)")
    check.add_argument("--target", help="the target whose base_url and params fill the requests")
    return parser


def _list(specs_dir: Path | None) -> int:
    specs = load_specs(specs_dir) if specs_dir is not None else configured_specs()
    for name, spec in sorted(specs.items()):
        print(f"{name}\t{origin_of(spec.api.example_base_url).url()}\t{spec.auth.profile}")
    return 0


def _show(label: str, planned: PlannedRequest) -> None:
    print(f"{label}: {planned.method} {planned.full_url()}")
    for name, value in planned.headers.items():
        print(f"  {name}: {value}")
    if planned.body is not None:
        print("  " + json.dumps(planned.body, sort_keys=True))


def _plan(spec: ConnectorSpec, base_url: str, params: dict[str, Any]) -> None:
    conn = SpecConnector(spec, base_url, params, NoTokens())
    job_ref = None
    if spec.create.job_id.location == "url":
        job_ref = f"{conn.api.base_url}/{FAKE_JOB_ID}"
    _show("create", conn.plan(spec.create.request))
    if spec.find_own_jobs is not None:
        _show("find own jobs", conn.plan(spec.find_own_jobs.request))
    _show("poll", conn.plan(spec.poll.request, FAKE_JOB_ID, job_ref))
    result = spec.result
    if result.request is not None:
        _show("result (extra request)", conn.plan(result.request, FAKE_JOB_ID, job_ref))
    elif result.path is not None:
        fixed = conn.plan(RequestSpec(path=result.path), FAKE_JOB_ID, job_ref)
        print(f"result (unless the finished job names its own): GET {fixed.full_url()}")
    where = ", ".join(result.urls)
    if result.parts is not None:
        where = f"{result.parts.items}[].{result.parts.url}"
    if where:
        hosts = ", ".join(result.allowed_hosts) or "none: the API origin only"
        print(f"result URLs from the finished job at {where}; other hosts allowed (no token): {hosts}")
    for cleanup in spec.cleanup:
        when = cleanup.when if cleanup.when == "never" else ", ".join(cleanup.when)
        _show(f"cleanup ({when})", conn.plan(cleanup.request, FAKE_JOB_ID, job_ref))


def _check(path: Path, targets: Path | None, target_name: str | None) -> int:
    spec = load_spec(path)
    print(f"{path.name}: valid spec {spec.name!r} ({origin_of(spec.api.example_base_url).url()}, {spec.auth.profile})")
    if targets is None:
        return 0
    from targets import load_targets  # the targets file format, only when asked

    found = load_targets(targets)
    if target_name not in found:
        raise SpecError(f"{targets.name}: no target named {target_name!r}; targets: {', '.join(sorted(found))}")
    target = found[target_name]
    _plan(spec, target.base_url, dict(target.params))
    return 0


def connectors_main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check" and (args.targets is None) != (args.target is None):
        print("error: give --targets and --target together", file=sys.stderr)
        return 2
    try:
        if args.command == "list":
            return _list(args.specs_dir)
        return _check(args.file, args.targets, args.target)
    except (SpecError, UpstreamError, ValueError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
