"""What the runner sends the SDK is what the extension sends (`OrchestrationTriggerAttributeBindingProvider.cs`),
and the installed SDK is the one these facts were checked against."""

from __future__ import annotations

import importlib.metadata
import json
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from local.runner import LocalRunner
from local.runner import history as h
from local.runner.replay import payload

VERIFIED_SDK = "1.7.0"
T0 = h.parse_time("2030-01-01T00:00:00.000000Z")
Context = Any


def test_the_installed_sdk_is_the_version_the_host_model_was_verified_against() -> None:
    installed = importlib.metadata.version("azure-functions-durable")
    assert installed == VERIFIED_SDK, (
        f"azure-functions-durable is {installed}, the runner was verified against {VERIFIED_SDK}. Re-verify, "
        "against the new SDK's source: the V3 action shapes (models/actions, CompoundTask omitting scheduled "
        "children, RetryAbleTask's timer after every failure, LongTimerTask's split), how the SDK numbers "
        "tasks and keeps `open_tasks` (the runner's cross-check reads it), the payload fields "
        "DurableOrchestrationContext.from_json accepts and parse_timespan_attrib's format, and the "
        "'$OutOfProcData$' error marker; then update VERIFIED_SDK and the conformance tests"
    )


def test_the_payload_has_the_fields_and_values_the_extension_sends() -> None:
    history = [h.orchestrator_started(T0), h.execution_started(T0, "o", '"x"', "i", "p")]
    sent = json.loads(payload(history, '"x"', "i", "p"))
    assert set(sent) == {
        "history",
        "input",
        "instanceId",
        "isReplaying",
        "parentInstanceId",
        "upperSchemaVersion",
        "upperSchemaVersionNew",
        "longRunningTimerIntervalDuration",
        "maximumShortTimerDuration",
        "defaultHttpAsyncRequestSleepTimeMillseconds",
    }
    assert (sent["upperSchemaVersion"], sent["upperSchemaVersionNew"]) == (1, 2)  # V2, V3
    assert (sent["longRunningTimerIntervalDuration"], sent["maximumShortTimerDuration"]) == ("3.00:00:00", "6.00:00:00")
    assert (sent["instanceId"], sent["parentInstanceId"], sent["isReplaying"]) == ("i", "p", False)


def test_events_of_earlier_episodes_are_played_except_orchestrator_started_and_the_run_is_a_replay() -> None:
    history = [
        h.orchestrator_started(T0),
        h.execution_started(T0, "o", "null", "i", None),
        h.task_scheduled(T0, 0, "a", "null"),
        h.orchestrator_completed(T0),
        h.orchestrator_started(T0),
        h.task_completed(T0, 0, "1"),
    ]
    sent = json.loads(payload(history, "null", "i"))
    assert [e["IsPlayed"] for e in sent["history"]] == [False, True, True, True, False, False]
    assert sent["isReplaying"] is True


def test_the_sdk_runs_schema_v3_with_the_azure_storage_timer_limits() -> None:
    seen: dict[str, Any] = {}

    def probe(ctx: Context) -> Any:
        seen.update(
            schema=ctx._replay_schema.value,
            short=ctx._maximum_short_timer_duration,
            interval=ctx._long_timer_interval_duration,
        )
        return ctx.get_input()
        yield  # a generator, as orchestrators are

    result = LocalRunner({"o": probe}, {}).run("o", {"n": 1}, "i")
    assert result.output == {"n": 1}
    assert seen == {"schema": 2, "short": timedelta(days=6), "interval": timedelta(days=3)}


def test_a_timer_longer_than_six_days_reaches_the_host_as_the_sdks_three_day_pieces() -> None:
    def sleeper(ctx: Context) -> Any:
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(days=10))
        return "awake"

    result = LocalRunner({"o": sleeper}, {}, timer_scale=1e-7).run("o", None, "i")
    created = [e for e in result.histories[0] if e["EventType"] == h.EventType.TIMER_CREATED]
    spans = [(h.parse_time(e["FireAt"]) - h.parse_time(e["Timestamp"])) / timedelta(days=1) for e in created]
    assert (result.output, [round(s, 3) for s in spans]) == ("awake", [3, 3, 4])  # LongTimerTask
    last = h.parse_time(created[-1]["FireAt"]) - h.parse_time(result.histories[0][0]["Timestamp"])
    assert round(last / timedelta(days=1)) == 10  # the last piece ends where the 10-day timer does


def test_the_input_reaches_the_sdk_as_the_host_parses_it() -> None:
    seen: list[Any] = []

    def echo(ctx: Context) -> Any:
        seen.append(ctx.get_input())
        return None
        yield

    LocalRunner({"o": echo}, {}).run("o", {"a": [1, "b"]}, "i")
    assert seen == [{"a": [1, "b"]}]


def test_the_retry_options_the_sdk_sends_are_the_two_fields_the_extension_requires() -> None:
    assert df.RetryOptions(1000, 3).to_json() == {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 3}
