"""`python -m local <command>`: the simulator, one export run, a delegated sign-in, or the whole demo."""

from __future__ import annotations

import sys

from app_logging import quiet_url_loggers

USAGE = """usage: python -m local <command> [options]

commands:
  simulator   run the upstream simulator (Viva Goals + SailPoint) on loopback
  run         run one export target through the local Durable runner
  signin      sign in once (device code) for a target with auth kind msal_token_cache; runs then refresh silently
              (the same as python -m credentials.signin, which ships with the Function App)
  demo        start Azurite and the simulator, export one target of each connector, stop them
  freshness   each target's last success, age and freshness state (--targets FILE), from the storage account
  runs        the export runs the local runner kept: target, started, finished, outcome, bytes, polls, ...
  connectors  list the connector specs, or check one (and what it would send for a target, without network)
"""


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    quiet_url_loggers()  # the entry point configures the process; no module does it at import
    if command == "simulator":
        from local.simulator.cli import main as simulator_main

        return simulator_main(rest)
    if command == "run":
        from local.cli import run_main

        return run_main(rest)
    if command == "signin":
        from credentials.signin import signin_main

        return signin_main(rest)
    if command == "connectors":
        from local.connectors_cli import connectors_main

        return connectors_main(rest)
    if command == "demo":
        from local.demo import main as demo_main

        return demo_main(rest)
    if command == "freshness":
        from local.operate import freshness_main

        return freshness_main(rest)
    if command == "runs":
        from local.operate import runs_main

        return runs_main(rest)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr, end="")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
