"""The host model alone: actions and a history in, the host's new work, open tasks and verdict out."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from local.runner import history as h
from local.runner.host_model import AsyncActionType as A
from local.runner.host_model import SdkState, interpret
from local.runner.work import ActivityWork, ChildWork, TimerWork

T0 = h.parse_time("2030-01-01T00:00:00.000000Z")


def at(seconds: float) -> Any:
    return T0 + timedelta(seconds=seconds)


def activity(name: str, retry: dict[str, Any] | None = None) -> dict[str, Any]:
    if retry is None:
        return {"actionType": A.CALL_ACTIVITY, "functionName": name, "input": "null"}
    return {"actionType": A.CALL_ACTIVITY_WITH_RETRY, "functionName": name, "input": "null", "retryOptions": retry}


def child(name: str, instance_id: str) -> dict[str, Any]:
    return {"actionType": A.CALL_SUB_ORCHESTRATOR, "functionName": name, "input": "null", "instanceId": instance_id}


def when_any(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"actionType": A.WHEN_ANY, "compoundActions": list(actions)}


def when_all(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"actionType": A.WHEN_ALL, "compoundActions": list(actions)}


def start(seconds: float = 0) -> list[h.Event]:
    return [h.orchestrator_started(at(seconds)), h.execution_started(at(seconds), "o", "null", "i", None)]


def episode(seconds: float, *events: h.Event) -> list[h.Event]:
    return [h.orchestrator_completed(at(seconds)), h.orchestrator_started(at(seconds)), *events]


def run(actions: list[dict[str, Any]], history: list[h.Event], **state: Any) -> Any:
    return interpret(SdkState(actions=actions, **state), history, "o", "i")


def test_actions_are_invoked_one_at_a_time_each_awaited_before_the_next() -> None:
    replay = run([activity("a"), activity("b")], start())
    assert replay.new_work == [ActivityWork(0, "a", "null")]
    assert replay.status == "Running"


def test_the_next_action_takes_the_next_id_when_the_previous_one_completes() -> None:
    history = [*start(), h.task_scheduled(T0, 0, "a", "null"), *episode(1, h.task_completed(at(1), 0, "1"))]
    replay = run([activity("a"), activity("b")], history)
    assert replay.new_work == [ActivityWork(1, "b", "null")]


def test_a_when_any_over_already_scheduled_tasks_covers_only_its_new_child() -> None:
    # the reducing-when-any shape: the SDK lists in the second WhenAny only the child it had not scheduled
    history = [
        *start(),
        h.sub_orchestration_created(T0, 0, "c", "k0", "null"),
        h.sub_orchestration_created(T0, 1, "c", "k1", "null"),
        *episode(1, h.sub_orchestration_completed(at(1), 0, "0")),
    ]
    replay = run([when_any(child("c", "k0"), child("c", "k1")), when_any(child("c", "k2"))], history)
    assert replay.new_work == [ChildWork(2, "c", "null", "k2")]
    later = [*history, h.sub_orchestration_created(at(1), 2, "c", "k2", "null")]
    later += episode(2, h.sub_orchestration_completed(at(2), 1, "1"))  # an old child ends: the host waits on k2
    replay = run([*[when_any(child("c", "k0"), child("c", "k1")), when_any(child("c", "k2"))], activity("x")], later)
    assert replay.new_work == []
    assert replay.open_ids == {2}


def test_when_all_waits_for_every_child_even_after_one_failed() -> None:
    history = [*start(), h.task_scheduled(T0, 0, "a", "null"), h.task_scheduled(T0, 1, "b", "null")]
    history += episode(1, h.task_failed(at(1), 0, "boom", "{}"))
    actions = [when_all(activity("a"), activity("b")), activity("c")]
    assert run(actions, history, error="boom").status == "Running"
    history += episode(2, h.task_completed(at(2), 1, "1"))
    assert run(actions, history).new_work == [ActivityWork(2, "c", "null")]


def test_an_empty_when_any_fails_the_orchestration() -> None:
    replay = run([when_any()], start())
    assert replay.status == "Failed"
    assert str(replay.reason).startswith("Orchestrator function 'o' failed: ")


def test_the_sdk_error_waits_until_the_action_walk_is_over() -> None:
    assert run([activity("a")], start(), error="late").status == "Running"
    history = [*start(), h.task_scheduled(T0, 0, "a", "null"), *episode(1, h.task_completed(at(1), 0, "1"))]
    replay = run([activity("a")], history, error="late", is_done=True)
    assert (replay.status, replay.reason) == ("Failed", "Orchestrator function 'o' failed: late")


def test_an_open_task_any_loser_keeps_the_orchestration_running_until_it_ends() -> None:
    history = [*start(), h.task_scheduled(T0, 0, "slow", "null"), h.task_scheduled(T0, 1, "fast", "null")]
    history += episode(1, h.task_completed(at(1), 1, "1"))
    actions = [when_any(activity("slow"), activity("fast"))]
    assert run(actions, history, is_done=True, output=1).status == "Running"
    history += episode(9, h.task_completed(at(9), 0, "0"))
    done = run(actions, history, is_done=True, output=1)
    assert (done.status, done.output) == ("Completed", 1)


def test_a_scheduling_event_that_does_not_match_the_replay_is_non_determinism() -> None:
    history = [*start(), h.task_scheduled(T0, 0, "a", "null"), *episode(1)]
    replay = run([activity("b")], history)
    assert replay.status == "Failed"
    assert "Non-Deterministic workflow detected" in str(replay.reason)


def test_a_cancelled_timer_is_scheduled_but_not_awaited() -> None:
    timer = {"actionType": A.CREATE_TIMER, "fireAt": h.format_time(at(60)), "isCanceled": True}
    replay = run([timer, activity("next")], start())
    assert replay.new_work == [TimerWork(0, h.format_time(at(60))), ActivityWork(1, "next", "null")]
    assert replay.open_ids == {1}


def failing_attempts(retry: dict[str, Any], failures: int, times: list[float]) -> tuple[list[h.Event], Any]:
    """Fail `failures` attempts, each episode at the given time; the history and the last replay."""
    actions = [when_all(activity("f", retry))]
    history = [*start(times[0])]
    replay = run(actions, history)
    for step in range(failures * 2):
        work = replay.new_work[0]
        history.append(
            h.timer_created(at(times[step]), work.task_id, work.fire_at)
            if isinstance(work, TimerWork)
            else h.task_scheduled(at(times[step]), work.task_id, "f", "null")
        )
        when = times[step + 1]
        outcome = (
            h.timer_fired(at(when), work.task_id, work.fire_at)
            if isinstance(work, TimerWork)
            else h.task_failed(at(when), work.task_id, "x", "{}")
        )
        history += episode(when, outcome)
        replay = run(actions, history)
    return history, replay


def test_retry_delays_follow_the_backoff_the_cap_and_the_timer_after_the_last_attempt_is_due_at_once() -> None:
    retry = {
        "firstRetryIntervalInMilliseconds": 1000,
        "maxNumberOfAttempts": 4,
        "backoffCoefficient": 3,
        "maxRetryIntervalInMilliseconds": 5000,
    }
    history, replay = failing_attempts(retry, 4, [0, 0, 1, 1, 4, 4, 9, 9, 9])
    fires = [h.parse_time(e["FireAt"]) for e in history if e["EventType"] == h.EventType.TIMER_CREATED]
    starts = [h.parse_time(e["Timestamp"]) for e in history if e["EventType"] == h.EventType.TIMER_CREATED]
    assert [(f - s).total_seconds() for f, s in zip(fires, starts, strict=True)] == [1, 3, 5, 0]
    ids = [e["EventId"] for e in history if e["EventId"] >= 0]
    assert ids == list(range(8))  # attempt, timer, attempt, timer, ... each id taken when its step is reached
    assert (replay.new_work, replay.open_ids, replay.walk_complete) == ([], frozenset(), True)


def test_no_retry_once_the_retry_timeout_has_passed() -> None:
    retry = {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 5, "retryTimeoutInMilliseconds": 2000}
    actions = [when_all(activity("f", retry))]
    history = [*start(), h.task_scheduled(T0, 0, "f", "null"), *episode(3, h.task_failed(at(3), 0, "x", "{}"))]
    replay = run(actions, history, error="x", is_done=True)
    assert (replay.new_work, replay.status) == ([], "Failed")  # no timer at all: the host differs from the SDK


def test_a_first_retry_interval_beyond_the_delay_limit_fails_as_the_host_does() -> None:
    retry = {"firstRetryIntervalInMilliseconds": 7 * 24 * 3600 * 1000, "maxNumberOfAttempts": 2}
    replay = run([when_all(activity("f", retry))], start())
    assert replay.status == "Failed"
    assert "maximum of 6 days for time-based delays" in (replay.reason or "")


@pytest.mark.parametrize(("chars", "fails"), [(8703, False), (8704, True)])
def test_custom_status_over_16_kb_of_utf16_json_fails_the_orchestration(chars: int, fails: bool) -> None:
    status = "x" * (chars - 2)  # the JSON string's quotes make it `chars` UTF-16 code units
    assert len(json.dumps(status)) == chars
    replay = run([activity("a")], start(), custom_status=status)
    assert (replay.status == "Failed") is fails
    if fails:
        assert "The UTF-16 size of the JSON-serialized payload must not exceed 16 KB" in (replay.reason or "")
