"""What one replay of the export orchestrator costs at its 1st poll and at its 1,000th.

The Durable host replays an orchestrator's whole history every time a result
arrives, so without `continue_as_new` each poll costs more than the one before
and a job polled for days becomes slow (and heavy) to replay. The histories
measured here are real ones: a full export recorded by the local runner
against the simulator (timers unscaled to zero, so a 1,000-poll job takes
seconds), once with one generation for all polls and once with the default
`polls_per_generation`. The timed call is the SDK replay itself
(`replay_actions`) on the history prefix the host would send when the poll's
result arrives: everything up to that result, before the replay's own
decisions are appended.

`run_lanes` does the same for a scheduler lane: one lane (K = 1) runs a tick of
100 and then of 2,000 exports (stand-ins that sleep a durable timer, with
timers not scaled at all: simulated time), and every history the lane saved
after a step is replayed through the SDK again. A lane continues as new after
each export, so the replay of its last step should cost what its first does,
and a 2,000-export tick what a 100-export one does (the goal: <= 1.5x).
"""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass
from typing import Any

from app_functions import ACTIVITIES, ORCHESTRATORS
from benchmarks.environment import use_storage
from local.azurite import Azurite
from local.cli import run_export
from local.runner import LocalRunner, MemoryHistoryStore, OrchestrationResult, StoredInstance, replay_actions
from local.runner.history import EventType
from local.simulator import SimulatorConfig, run_simulator
from orchestrators import names, poll_policy
from orchestrators.export_orchestrator import export_orchestrator
from orchestrators.scheduled_exports import ORCHESTRATORS as SCHEDULER
from orchestrators.scheduled_exports import lane_instance_id, plan_id, scheduled_exports_lane
from tests.support.scheduling import toy_export, toy_plan
from tests.support.targets import viva_target

CONTAINER = "bench-replay"
MID_POLL = 50  # the last poll of the first generation at the default polls_per_generation
DECIDED = frozenset(
    {
        EventType.TASK_SCHEDULED,
        EventType.TIMER_CREATED,
        EventType.SUB_ORCHESTRATION_CREATED,
        EventType.ORCHESTRATOR_COMPLETED,
        EventType.EXECUTION_COMPLETED,
        EventType.CONTINUE_AS_NEW,
    }
)
History = list[dict[str, Any]]


@dataclass(frozen=True)
class Prefix:
    """The history the host sends when the result of one poll arrives."""

    poll: int
    generation: int
    events: History

    @property
    def input_json(self) -> str | None:
        started = next(e for e in self.events if e["EventType"] == EventType.EXECUTION_STARTED)
        text: str | None = started.get("Input")
        return text


def record(polls: int, polls_per_generation: int, storage: Azurite) -> tuple[OrchestrationResult, float]:
    """A full export whose job finishes at its `polls`-th status poll, recorded by the local runner."""
    use_storage(storage, CONTAINER)
    config = SimulatorConfig(job_polls=polls, retry_after_s=1, content_size=4096)
    default, poll_policy.POLLS_PER_GENERATION = poll_policy.POLLS_PER_GENERATION, polls_per_generation
    try:
        with run_simulator(config) as sim, LocalRunner(ORCHESTRATORS, ACTIVITIES, timer_scale=0.0) as runner:
            target = viva_target(sim, name="replay")
            began = time.perf_counter()
            result = run_export(target, run_key=uuid.uuid4().hex, timer_scale=0.0, runner=runner)
            elapsed = time.perf_counter() - began
            assert result.status == "Completed", result.error
            assert sim.stats.polls(result.output["job_id"]) == polls
    finally:
        poll_policy.POLLS_PER_GENERATION = default  # a constant in production; varied here to compare
    return result, elapsed


def prefix_at_poll(histories: list[History], poll: int) -> Prefix:
    """The prefix of the generation holding the `poll`-th status check (1-based, across generations)."""
    seen = 0
    for generation, history in enumerate(histories, start=1):
        checks = [
            e["EventId"] for e in history if e["EventType"] == EventType.TASK_SCHEDULED and e["Name"] == names.CHECK_JOB
        ]
        if seen + len(checks) < poll:
            seen += len(checks)
            continue
        task_id = checks[poll - seen - 1]
        done = next(
            i
            for i, e in enumerate(history)
            if e["EventType"] == EventType.TASK_COMPLETED and e["TaskScheduledId"] == task_id
        )
        end = next((i for i in range(done + 1, len(history)) if history[i]["EventType"] in DECIDED), len(history))
        return Prefix(poll, generation, history[:end])
    raise ValueError(f"the recorded export made only {seen} poll(s), not {poll}")


def time_replay(prefix: Prefix, instance_id: str, repeats: int) -> float:
    """Median seconds of one SDK replay of the prefix."""
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        actions = replay_actions(export_orchestrator, prefix.events, prefix.input_json, instance_id)
        samples.append(time.perf_counter() - began)
        assert actions, "the replay asked for nothing"
    return statistics.median(samples)


def run(polls: int, settings: list[int], storage: Azurite, repeats: int = 7) -> list[dict[str, Any]]:
    """Record one export per `polls_per_generation` setting and time its replays at poll 1, 50 and `polls`."""
    if polls <= MID_POLL:
        raise ValueError(f"replay cost needs more than {MID_POLL} polls to compare")
    points = [1, MID_POLL, polls]
    print(f"== Orchestrator replay cost at polls {', '.join(map(str, points))} (median of {repeats} SDK replays) ==")
    print(
        f"{'polls/generation':>16} {'generations':>11} "
        + " ".join(f"{f'events @{p}':>11}" for p in points)
        + " "
        + " ".join(f"{f'replay @{p}':>12}" for p in points)
        + f" {f'@{polls}/@1':>9} {f'@{polls}/@{points[-2]}':>10} {'record s':>8}",
        flush=True,
    )
    rows = []
    for per_generation in settings:
        result, recorded_s = record(polls, per_generation, storage)
        prefixes = [prefix_at_poll(result.histories, p) for p in points]
        times = [time_replay(prefix, result.instance_id, repeats) for prefix in prefixes]
        row = {
            "polls_per_generation": per_generation,
            "generations": result.generations,
            "events": {p.poll: len(p.events) for p in prefixes},
            "replay_ms": {p.poll: t * 1000 for p, t in zip(prefixes, times, strict=True)},
            "ratio": times[-1] / times[0],
            "ratio_mid": times[-1] / times[-2],
            "record_s": recorded_s,
        }
        rows.append(row)
        print(
            f"{per_generation:>16} {result.generations:>11} "
            + " ".join(f"{len(p.events):>11}" for p in prefixes)
            + " "
            + " ".join(f"{t * 1000:>10.2f}ms" for t in times)
            + f" {row['ratio']:>8.1f}x {row['ratio_mid']:>9.1f}x {recorded_s:>8.1f}",
            flush=True,
        )
    print(
        "(events = history length the host sends when that poll's result arrives; "
        "record s = the whole recorded export, which replays after every step)"
    )
    return rows


LANE_COUNTS = (100, 2000)
LANE_SAMPLE = 50  # exports at the start and at the end of the lane whose steps are timed


class LaneRecorder(MemoryHistoryStore):
    """Keeps a copy of every history one instance saves: (generation, input, events) after each step."""

    def __init__(self, instance_id: str) -> None:
        super().__init__()
        self.instance_id = instance_id
        self.steps: list[tuple[int, str | None, History]] = []

    def save(self, instance_id: str, instance: StoredInstance) -> None:
        super().save(instance_id, instance)
        if instance_id == self.instance_id and instance.history:
            self.steps.append((instance.generation, instance.input, [dict(e) for e in instance.history]))


def lane_steps(count: int, storage: Azurite) -> tuple[LaneRecorder, str, float]:
    """Run a tick of `count` exports through one lane; its recorded steps, its instance id, the run's seconds."""
    use_storage(storage, f"bench-lane-{count}-{uuid.uuid4().hex[:6]}")
    exports = toy_plan([60.0] * count)
    parent = f"export-scheduler-{uuid.uuid4().hex[:8]}"
    lane = lane_instance_id(plan_id(parent, [e["instance_id"] for e in exports]), 0)
    store = LaneRecorder(lane)
    orchestrators = {**SCHEDULER, names.EXPORT_ORCHESTRATION: toy_export}
    began = time.perf_counter()
    with LocalRunner(orchestrators, ACTIVITIES, timer_scale=0.0, store=store) as runner:
        result = runner.run(names.SCHEDULED_EXPORTS_ORCHESTRATION, {"exports": exports, "max_in_flight": 1}, parent)
    assert result.status == "Completed", result.error
    assert len(result.output) == count
    return store, lane, time.perf_counter() - began


def time_steps(steps: list[tuple[int, str | None, History]], lane: str, repeats: int) -> float:
    """Median seconds of one SDK replay over the given saved histories (each timed `repeats` times)."""
    samples = []
    for _, input_json, events in steps:
        for _ in range(repeats):
            began = time.perf_counter()
            replay_actions(scheduled_exports_lane, events, input_json, lane)
            samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def run_lanes(storage: Azurite, counts: tuple[int, ...] = LANE_COUNTS, repeats: int = 3) -> list[dict[str, Any]]:
    print(
        f"== Scheduler lane replay cost per step (one lane, K = 1; median of SDK replays of the histories saved "
        f"at the first and the last {LANE_SAMPLE} exports) =="
    )
    print(
        f"{'exports':>7} {'generations':>11} {'longest history':>15} {'replay first':>12} {'replay last':>11} "
        f"{'last/first':>10} {'run s':>6}"
    )
    rows = []
    for count in counts:
        store, lane, seconds = lane_steps(count, storage)
        generations = store.steps[-1][0]
        first = [step for step in store.steps if step[0] <= LANE_SAMPLE]
        last = [step for step in store.steps if step[0] > generations - LANE_SAMPLE]
        cost_first, cost_last = time_steps(first, lane, repeats), time_steps(last, lane, repeats)
        row = {
            "exports": count,
            "generations": generations,
            "longest_history": max(len(events) for _, _, events in store.steps),
            "replay_first_ms": cost_first * 1000,
            "replay_last_ms": cost_last * 1000,
            "run_s": seconds,
        }
        rows.append(row)
        print(
            f"{count:>7} {generations:>11} {row['longest_history']:>15} {cost_first * 1000:>10.3f}ms "
            f"{cost_last * 1000:>9.3f}ms {cost_last / cost_first:>9.2f}x {seconds:>6.1f}",
            flush=True,
        )
    if len(rows) > 1:
        ratio = rows[-1]["replay_last_ms"] / rows[0]["replay_last_ms"]
        print(
            f"per-step replay at the end of a {rows[-1]['exports']}-export lane / a {rows[0]['exports']}-export lane: "
            f"{ratio:.2f}x (goal <= 1.5x)"
        )
    return rows
