"""Activities see what the host would give them, and the history is written in the host's schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from local.runner import LocalRunner
from local.runner.history import EventType

Context = Any


def echo(value: Any) -> Any:
    return value


def returns_a_set(_: Any) -> Any:
    return {1, 2}


def passes_a_tuple(ctx: Context) -> Any:
    return (yield ctx.call_activity("echo", {"pair": (1, 2), "when": "now"}))


def test_activity_input_arrives_after_a_json_round_trip() -> None:
    result = LocalRunner({"o": passes_a_tuple}, {"echo": echo}).run("o", None, "i")
    assert result.output == {"pair": [1, 2], "when": "now"}


def calls(name: str) -> Any:
    def orchestrator(ctx: Context) -> Any:
        return (yield ctx.call_activity(name, None))

    return orchestrator


def test_a_result_that_is_not_json_fails_the_task_with_a_clear_message() -> None:
    result = LocalRunner({"o": calls("returns_a_set")}, {"returns_a_set": returns_a_set}).run("o", None, "i")
    assert result.status == "Failed"
    assert "'returns_a_set' returned a value that is not JSON-serialisable" in (result.error or "")


def test_an_unregistered_activity_fails_the_task_not_the_runner() -> None:
    result = LocalRunner({"o": calls("missing")}, {}).run("o", None, "i")
    assert result.status == "Failed"
    assert "'missing' doesn't exist" in (result.error or "")


def test_task_failed_is_worded_as_the_extension_words_an_out_of_process_activity_failure() -> None:
    def boom(_: Any) -> None:
        raise LookupError("no such job")

    result = LocalRunner({"o": calls("boom")}, {"boom": boom}).run("o", None, "i")
    failed = [e for e in result.histories[0] if e["EventType"] == EventType.TASK_FAILED]
    # TaskActivityShim: "Activity function '<name>' failed: " + the RpcException text after "Exception:"
    assert [e["Reason"] for e in failed] == ["Activity function 'boom' failed:  LookupError: no such job"]
    cause = json.loads(failed[0]["Details"])
    assert cause["Message"] == " LookupError: no such job"
    assert "raise LookupError" in cause["RemoteStackTraceString"]
    assert result.error is not None
    assert result.error.startswith("Orchestrator function 'o' failed: Activity function 'boom' failed:")


def echoes_its_input(ctx: Context) -> Any:
    return (yield ctx.call_activity("echo", ctx.get_input()))


def test_history_has_the_fields_the_sdk_and_the_host_use() -> None:
    result = LocalRunner({"o": echoes_its_input}, {"echo": echo}).run("o", {"n": 1}, "i")
    history = result.histories[0]
    assert [e["EventType"] for e in history[:2]] == [EventType.ORCHESTRATOR_STARTED, EventType.EXECUTION_STARTED]
    assert history[1]["Input"] == '{"n": 1}'
    assert all({"EventType", "EventId", "IsPlayed", "Timestamp"} <= set(e) for e in history)
    scheduled = next(e for e in history if e["EventType"] == EventType.TASK_SCHEDULED)
    completed = next(e for e in history if e["EventType"] == EventType.TASK_COMPLETED)
    assert completed["TaskScheduledId"] == scheduled["EventId"] == 0
    assert json.loads(completed["Result"]) == {"n": 1}
    assert json.loads(json.dumps(result.histories)) == result.histories


def test_the_orchestration_starts_at_the_injected_clock() -> None:
    start = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    def orchestrator(ctx: Context) -> Any:
        return ctx.current_utc_datetime.isoformat()
        yield  # a generator, as orchestrators are

    result = LocalRunner({"o": orchestrator}, {}, clock=lambda: start).run("o", None, "i")
    assert result.output == start.isoformat()


def test_instance_id_and_input_reach_the_orchestrator() -> None:
    def orchestrator(ctx: Context) -> Any:
        return [ctx.instance_id, ctx.get_input()]
        yield

    result = LocalRunner({"o": orchestrator}, {}).run("o", {"a": [1]}, "export-42")
    assert result.output == ["export-42", {"a": [1]}]


def test_an_unsupported_action_fails_the_instance_with_a_readable_reason() -> None:
    def orchestrator(ctx: Context) -> Any:
        return (yield ctx.wait_for_external_event("approval"))

    result = LocalRunner({"o": orchestrator}, {}).run("o", None, "i")
    assert result.status == "Failed"
    assert "does not support the WAIT_FOR_EXTERNAL_EVENT action" in (result.error or "")
