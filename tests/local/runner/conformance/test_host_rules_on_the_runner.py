"""Whole runs where the host's rules differ from what the SDK alone suggests: the runner must do what the host does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import pytest

from local.runner import LocalRunner
from local.runner import history as h
from local.runner.host_model import SdkState, interpret
from local.runner.replay import HostModelMismatch, cross_check, replay
from local.runner.work import ActivityWork

Context = Any
START = [
    h.orchestrator_started(h.parse_time("2030-01-01T00:00:00.000000Z")),
    h.execution_started(h.parse_time("2030-01-01T00:00:00.000000Z"), "o", "null", "i", None),
]


def waits(ctx: Context) -> Any:
    """A child that waits its input's seconds of orchestration time."""
    yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=ctx.get_input()))
    return ctx.get_input()


def re_yielding_pool(ctx: Context) -> Any:
    """Keeps up to three children 'in flight' by re-yielding task_any over the running ones plus a new one
    (the pattern of orchestrators/scheduled_exports.py before issue 9)."""
    durations = list(ctx.get_input())
    running = {i: ctx.call_sub_orchestrator("waits", s, f"kid{i}") for i, s in enumerate(durations[:3])}
    next_index = 3
    while running:
        finished = yield ctx.task_any(list(running.values()))
        running = {i: task for i, task in running.items() if task is not finished}
        if next_index < len(durations):
            running[next_index] = ctx.call_sub_orchestrator("waits", durations[next_index], f"kid{next_index}")
            next_index += 1
    return "done"


def in_flight_when_each_child_was_created(history: list[h.Event]) -> list[int]:
    live: set[int] = set()
    counts = []
    for event in history:
        if event["EventType"] == h.EventType.SUB_ORCHESTRATION_CREATED:
            live.add(event["EventId"])
            counts.append(len(live))
        elif event["EventType"] in (h.EventType.SUB_ORCHESTRATION_COMPLETED, h.EventType.SUB_ORCHESTRATION_FAILED):
            live.discard(event["TaskScheduledId"])
    return counts


def test_re_yielding_task_any_over_running_children_keeps_one_new_child_in_flight_as_the_host_does() -> None:
    runner = LocalRunner({"pool": re_yielding_pool, "waits": waits}, {}, timer_scale=0.002)
    result = runner.run("pool", [10, 20, 30, 100, 100, 100], "p")
    assert result.status == "Completed", result.error
    # kid3 starts when kid0 ends (t=10). The host then waits on kid3 alone, so kid1 and kid2 ending (t=20, 30)
    # start nothing: kid4 starts when kid3 ends (t=110), kid5 when kid4 ends. The SDK alone would give [.., 3, 3, 3].
    assert in_flight_when_each_child_was_created(result.histories[0]) == [1, 2, 3, 3, 1, 1]


def test_a_first_retry_interval_the_sdk_accepts_but_the_host_rejects_fails_the_orchestration() -> None:
    def patient(ctx: Context) -> Any:
        week = 7 * 24 * 3600 * 1000
        return (yield ctx.call_activity_with_retry("noop", df.RetryOptions(week, 2), None))

    result = LocalRunner({"o": patient}, {"noop": lambda _: "ran"}).run("o", None, "i")
    assert result.status == "Failed"
    assert result.error == (
        "Orchestrator function 'o' failed: The Azure Storage provider supports a maximum of 6 days for "
        "time-based delays"
    )


def test_custom_status_over_16_kb_fails_the_orchestration_with_the_hosts_message() -> None:
    def chatty(ctx: Context) -> Any:
        ctx.set_custom_status("x" * 9000)
        yield ctx.call_activity("noop", None)
        return "unreachable"

    result = LocalRunner({"o": chatty}, {"noop": lambda _: None}).run("o", None, "i")
    assert result.status == "Failed"
    assert result.error is not None
    assert "The UTF-16 size of the JSON-serialized payload must not exceed 16 KB" in result.error
    assert result.custom_status is None  # SetCustomStatus threw: the host never stored it


def test_a_failed_childs_reason_reaches_the_parent_as_the_host_words_it() -> None:
    def broken(ctx: Context) -> Any:
        raise ValueError("child broke")
        yield

    def parent(ctx: Context) -> Any:
        try:
            yield ctx.call_sub_orchestrator("broken", None, "kid")
        except Exception as exc:
            return str(exc).split("\n", 1)[0].strip()
        return "no error"

    result = LocalRunner({"parent": parent, "broken": broken}, {}).run("parent", None, "p")
    assert result.output == "Orchestrator function 'broken' failed: child broke"
    failed = [e for e in result.histories[0] if e["EventType"] == h.EventType.SUB_ORCHESTRATION_FAILED]
    assert failed[0]["Details"].startswith("Message: child broke, StackTrace: ")


def test_a_retried_activity_waits_the_first_interval_then_fails_after_a_timer_due_at_once() -> None:
    def orchestrator(ctx: Context) -> Any:
        return (yield ctx.call_activity_with_retry("down", df.RetryOptions(60_000, 2), None))

    def down(_: Any) -> None:
        raise RuntimeError("down")

    result = LocalRunner({"o": orchestrator}, {"down": down}, timer_scale=0.0001).run("o", None, "i")
    timers = [e for e in result.histories[0] if e["EventType"] == h.EventType.TIMER_CREATED]
    waits_s = [(h.parse_time(e["FireAt"]) - h.parse_time(e["Timestamp"])).total_seconds() for e in timers]
    assert [round(w) for w in waits_s] == [60, 0]
    first_line = str(result.error).split("\n", 1)[0].strip()  # the SDK's error is "<Reason> \n <Details>"
    assert first_line == "Orchestrator function 'o' failed: Activity function 'down' failed:  RuntimeError: down"


def reuse_task_in_when_any(ctx: Context) -> Any:
    """`generator_function_reuse_task_in_whenany` of the SDK's tests/orchestrator/test_sequential_orchestrator.py."""
    tokyo, seattle = ctx.call_activity("Hello", "Tokyo"), ctx.call_activity("Hello", "Seattle")
    pending = [tokyo, seattle]
    finished = yield ctx.task_any(pending)
    pending.remove(finished)
    yield ctx.task_any([*pending, ctx.call_activity("Hello", "London")])
    return ""


def test_the_sdks_reducing_when_any_shape_makes_the_host_wait_on_the_new_task_alone() -> None:
    t0 = h.parse_time("2030-01-01T00:00:00.000000Z")
    history = [h.orchestrator_started(t0), h.execution_started(t0, "o", "null", "i", None)]
    history += [h.task_scheduled(t0, 0, "Hello", '"Tokyo"'), h.task_scheduled(t0, 1, "Hello", '"Seattle"')]
    history += [h.orchestrator_completed(t0), h.orchestrator_started(t0), h.task_completed(t0, 0, '"Hello Tokyo!"')]
    decision = replay(reuse_task_in_when_any, history, "null", "i", name="o")
    assert [a["input"] for a in decision.actions] == ['"Tokyo"', '"Seattle"', '"London"']
    assert decision.new_work == [ActivityWork(2, "Hello", '"London"')]
    history += [h.task_scheduled(t0, 2, "Hello", '"London"'), h.orchestrator_completed(t0)]
    history += [h.orchestrator_started(t0), h.task_completed(t0, 1, '"Hello Seattle!"')]
    seattle_first = replay(reuse_task_in_when_any, history, "null", "i", name="o")
    # the SDK is done (its task_any saw Seattle), but the host's WhenAny lists London only, which is still open
    assert (seattle_first.status, seattle_first.new_work) == ("Running", [])
    history += [h.orchestrator_completed(t0), h.orchestrator_started(t0), h.task_completed(t0, 2, '"Hello London!"')]
    assert replay(reuse_task_in_when_any, history, "null", "i", name="o").status == "Completed"


def test_the_runner_fails_loudly_when_the_sdk_and_the_host_model_number_tasks_differently() -> None:
    host = interpret(SdkState(actions=[{"actionType": 0, "functionName": "a", "input": "null"}]), START, "o", "i")
    with pytest.raises(HostModelMismatch, match=r"host model holds tasks \[0\] open and the SDK holds \[1\]"):
        cross_check(host, SdkState(actions=[]), {1}, "i")


def test_zero_attempts_is_where_the_sdk_and_the_host_part_and_the_runner_stops_loudly() -> None:
    # RetryInterceptor runs no attempt (and schedules nothing); the SDK schedules one and waits for it
    def never(ctx: Context) -> Any:
        return (yield ctx.call_activity_with_retry("noop", df.RetryOptions(1000, 0), None))

    runner = LocalRunner({"o": never}, {"noop": lambda _: "ran"})
    with pytest.raises(HostModelMismatch, match=r"host model holds tasks \[\] open and the SDK holds \[0\]"):
        runner.run("o", None, "i")
