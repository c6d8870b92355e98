"""`python -m benchmarks`: every benchmark section from one run, against one Azurite.

Figures taken in separate runs on a noisy machine cannot be compared, so one
command prints them all: streaming throughput and memory, upstream calls per
export, orchestrator replay cost, and a capped fan-out. `--only` picks
sections when one figure is all that is needed.
"""

from __future__ import annotations

import argparse
import logging
import time

from benchmarks import fanout, replay_cost, stream_to_blob, upstream_calls
from benchmarks.environment import shared_azurite

SECTIONS = ("streaming", "calls", "replay", "fanout")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", choices=SECTIONS, nargs="+", default=list(SECTIONS), help="sections to run")
    parser.add_argument(
        "--size-mib",
        type=int,
        nargs="+",
        default=list(stream_to_blob.DEFAULT_SIZES_MIB),
        help="streaming: export sizes in MiB",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=stream_to_blob.DEFAULT_ROUNDS,
        help="streaming: alternating activity/plain rounds per size (median reported)",
    )
    parser.add_argument(
        "--tune-mib",
        type=int,
        default=stream_to_blob.DEFAULT_TUNE_MIB,
        help="streaming: size of each block size x blocks in flight run (0: skip them)",
    )
    parser.add_argument(
        "--job-duration-s",
        type=float,
        nargs="+",
        default=list(upstream_calls.DEFAULT_DURATIONS_S),
        help="calls: how long the upstream job runs (virtual seconds)",
    )
    parser.add_argument(
        "--retry-after-s",
        type=int,
        nargs="+",
        default=[5, 30],
        help="calls: Retry-After values the Graph simulator sends",
    )
    parser.add_argument("--polls", type=int, default=1000, help="replay: polls of the recorded export")
    parser.add_argument(
        "--polls-per-generation",
        type=int,
        nargs="+",
        default=None,
        help="replay: settings to compare (default: 2 x --polls, i.e. never, and 50)",
    )
    parser.add_argument("--targets", type=int, default=500, help="fanout: targets in the timer run")
    parser.add_argument("--max-in-flight", type=int, default=8, help="fanout: the concurrency cap")
    parser.add_argument("--keep-rate-limit", action="store_true", help="fanout: keep the simulator's rate limit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if min(args.size_mib) < 1 or args.targets < 1 or args.max_in_flight < 1 or args.rounds < 1 or args.tune_mib < 0:
        raise SystemExit("sizes, targets, max-in-flight and rounds must be >= 1, tune-mib >= 0")
    if args.polls <= replay_cost.MID_POLL:
        raise SystemExit(f"--polls must be more than {replay_cost.MID_POLL}")
    # One warning per throttled or failed call would drown the figures; the sections count and print them.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    chosen = [name for name in SECTIONS if name in args.only]
    began = time.perf_counter()
    with shared_azurite() as storage:
        for index, name in enumerate(chosen):
            if index:
                print()
            if name == "streaming":
                stream_to_blob.run(args.size_mib, storage, rounds=args.rounds, tune_mib=args.tune_mib)
            elif name == "calls":
                upstream_calls.run(args.job_duration_s, args.retry_after_s, storage)
            elif name == "replay":
                settings = args.polls_per_generation or [2 * args.polls, 50]
                replay_cost.run(args.polls, settings, storage)
                print()
                replay_cost.run_lanes(storage)
            else:
                fanout.run(args.targets, args.max_in_flight, storage, keep_rate_limit=args.keep_rate_limit)
                print()
                fanout.run_mixed(storage, max_in_flight=args.max_in_flight)
    print(f"\n(all sections: {time.perf_counter() - began:.0f} s)")
    return 0
