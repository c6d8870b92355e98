"""Replaying any recorded prefix gives the actions the runner acted on; a fickle orchestrator is caught."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from local.runner import LocalRunner, RunnerEvent, replay_actions
from local.runner.history import EventType

Context = Any


def flaky_once() -> Any:
    calls: list[int] = []

    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            raise RuntimeError("first call fails")
        return x

    return flaky


def busy(ctx: Context) -> Any:
    """Touches every feature once: fan-out, a retried activity, a timer, a child, continue-as-new."""
    generation = ctx.get_input()
    ctx.set_custom_status({"generation": generation})
    doubled = yield ctx.task_all([ctx.call_activity("double", n) for n in range(3)])
    retried = yield ctx.call_activity_with_retry("flaky", df.RetryOptions(5000, 3), generation)
    yield ctx.create_timer(ctx.current_utc_datetime + timedelta(minutes=5))
    child = yield ctx.call_sub_orchestrator("child", sum(doubled))
    if generation < 1:
        ctx.continue_as_new(generation + 1)
        return None
    return [doubled, retried, child]


def child(ctx: Context) -> Any:
    return (yield ctx.call_activity("double", ctx.get_input()))


def record_busy_run() -> tuple[Any, list[RunnerEvent]]:
    seen: list[RunnerEvent] = []
    activities = {"double": lambda x: 2 * x, "flaky": flaky_once()}
    runner = LocalRunner({"busy": busy, "child": child}, activities, timer_scale=0.0001, on_event=seen.append)
    return runner.run("busy", 0, "b"), [e for e in seen if e.kind == "replayed" and e.instance_id == "b"]


def test_every_prefix_ending_at_an_episode_replays_to_the_actions_recorded_there() -> None:
    result, steps = record_busy_run()
    assert result.status == "Completed", result.error
    assert result.generations == 2
    checked = 0
    for step in steps:
        history = result.histories[step.detail["generation"] - 1]
        prefix = history[: step.detail["history_length"]]
        assert prefix[-1]["EventType"] == EventType.ORCHESTRATOR_COMPLETED
        assert replay_actions(busy, prefix, history[1]["Input"], "b") == step.detail["actions"]
        checked += 1
    assert checked == result.replays >= 10


def test_the_prefix_check_catches_an_orchestrator_that_decides_differently_on_replay() -> None:
    invocations = itertools.count()

    def fickle(ctx: Context) -> Any:
        yield ctx.call_activity("double", next(invocations))

    result = LocalRunner({"fickle": fickle}, {"double": lambda x: 2 * x}).run("fickle", None, "f")
    history = result.histories[0]
    first_episode = history[: [e["EventType"] for e in history].index(EventType.ORCHESTRATOR_COMPLETED) + 1]
    assert replay_actions(fickle, first_episode, "null", "f") != replay_actions(fickle, first_episode, "null", "f")


def test_the_runner_fails_an_orchestration_whose_replay_schedules_different_work_under_a_recorded_id() -> None:
    invocations = itertools.count()

    def nap(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    def fickle(ctx: Context) -> Any:
        slow = "slow_a" if next(invocations) == 0 else "slow_b"
        return (yield ctx.task_all([ctx.call_activity("fast", 0), ctx.call_activity(slow, 0.2)]))

    activities = {"fast": lambda x: x, "slow_a": nap, "slow_b": nap}
    result = LocalRunner({"fickle": fickle}, activities).run("fickle", None, "f")
    assert result.status == "Failed"
    assert "Non-Deterministic workflow detected" in (result.error or "")
    assert "slow_a with sequence number 1" in (result.error or "")
