"""`call_activity_with_retry`: the host's timer between attempts takes sequence numbers exactly as the SDK does."""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df
import pytest

from local.runner import LocalRunner
from local.runner import history as h
from local.runner.replay import replay
from local.runner.work import ActivityWork, TimerWork

Context = Any
T0 = h.parse_time("2030-01-01T00:00:00.000000Z")


def test_a_failed_attempt_consumes_the_next_id_for_its_retry_timer() -> None:
    calls: list[int] = []

    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            raise RuntimeError("first try fails")
        return x

    def orchestrator(ctx: Context) -> Any:
        return (yield ctx.call_activity_with_retry("flaky", df.RetryOptions(30_000, 3), 5))

    result = LocalRunner({"o": orchestrator}, {"flaky": flaky}, timer_scale=0.0001).run("o", None, "i")
    kinds = [(e["EventType"], e["EventId"], e.get("TaskScheduledId", e.get("TimerId"))) for e in result.histories[0]]
    work_events = [
        k for k in kinds if k[0] not in (h.EventType.ORCHESTRATOR_STARTED, h.EventType.ORCHESTRATOR_COMPLETED)
    ]
    assert work_events[1:-1] == [
        (h.EventType.TASK_SCHEDULED, 0, None),
        (h.EventType.TASK_FAILED, -1, 0),
        (h.EventType.TIMER_CREATED, 1, None),
        (h.EventType.TIMER_FIRED, -1, 1),
        (h.EventType.TASK_SCHEDULED, 2, None),
        (h.EventType.TASK_COMPLETED, -1, 2),
    ]
    assert result.output == 5


def test_the_retry_timer_waits_the_first_interval_and_the_timer_after_the_last_attempt_fires_at_once() -> None:
    seen: list[Any] = []

    def always_fails(_: Any) -> None:
        raise RuntimeError("down")

    def orchestrator(ctx: Context) -> Any:
        return (yield ctx.call_activity_with_retry("down", df.RetryOptions(45_000, 2), None))

    runner = LocalRunner({"o": orchestrator}, {"down": always_fails}, timer_scale=0.0001, on_event=seen.append)
    result = runner.run("o", None, "i")
    assert result.status == "Failed"
    assert "RuntimeError: down" in (result.error or "")
    retry_waits = [e.detail["seconds"] for e in seen if e.kind == "timer_created" and e.detail["retry"]]
    # RetryInterceptor: after the last attempt a "Dummy timer for back-compat" due at the current time
    assert retry_waits == [pytest.approx(45, abs=0.01), pytest.approx(0, abs=0.01)]
    assert sum(e.kind == "activity_failed" for e in seen) == 2


def retry_and_race(ctx: Context) -> Any:
    retried = ctx.call_activity_with_retry("flaky", df.RetryOptions(1000, 3), None)
    quick = ctx.call_activity("quick", None)
    yield ctx.task_any([retried, quick])
    after = ctx.call_activity("after", None)
    return (yield ctx.task_all([retried, after]))


def _history_with(results: list[h.Event]) -> list[h.Event]:
    return [
        h.orchestrator_started(T0),
        h.execution_started(T0, "o", "null", "i", None),
        h.task_scheduled(T0, 0, "flaky", "null"),
        h.task_scheduled(T0, 1, "quick", "null"),
        h.orchestrator_completed(T0),
        h.orchestrator_started(T0),
        *results,
    ]


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        (
            [h.task_completed(T0, 1, json.dumps("q")), h.task_failed(T0, 0, "RuntimeError: x", "")],
            [ActivityWork(2, "after", "null"), TimerWork(3, "2030-01-01T00:00:01.000000Z", retry=True)],
        ),
        (
            [h.task_failed(T0, 0, "RuntimeError: x", ""), h.task_completed(T0, 1, json.dumps("q"))],
            [TimerWork(2, "2030-01-01T00:00:01.000000Z", retry=True), ActivityWork(3, "after", "null")],
        ),
    ],
    ids=["completion-first", "failure-first"],
)
def test_retry_timer_ids_follow_the_order_the_sdk_replays_results_in(
    results: list[h.Event], expected: list[Any]
) -> None:
    decision = replay(retry_and_race, _history_with(results), "null", "i")
    assert decision.error is None
    assert decision.new_work == expected
