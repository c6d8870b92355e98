"""The Functions worker's own indexing of `function_app`: every function, trigger, binding and route."""

from __future__ import annotations

import functools
import json
from typing import Any

import function_app
from orchestrators import names


@functools.cache  # the worker indexes once; a second get_functions() call refuses the same names again
def indexed() -> dict[str, list[dict[str, Any]]]:
    functions = function_app.app.get_functions()
    return {str(f.get_function_name()): [json.loads(b) for b in f.get_raw_bindings()] for f in functions}


def test_orchestrator_and_activities_are_registered_under_their_names() -> None:
    functions = indexed()
    assert functions[names.EXPORT_ORCHESTRATION][0]["type"] == "orchestrationTrigger"
    for activity in (names.CREATE_JOB, names.CHECK_JOB, names.DOWNLOAD, names.PUBLISH_EVENT):
        assert functions[activity] == [{"direction": "IN", "type": "activityTrigger", "name": "payload"}]


def test_http_routes_use_function_keys_and_a_durable_client() -> None:
    functions = indexed()
    expected = {
        "start_export": ("exports", ["POST"]),
        "export_status": ("exports/{instance_id}", ["GET"]),
        "cancel_export": ("exports/{instance_id}/cancel", ["POST"]),
    }
    for name, (route, methods) in expected.items():
        bindings = {b["type"]: b for b in functions[name]}
        assert bindings["httpTrigger"]["route"] == route
        assert bindings["httpTrigger"]["methods"] == methods
        assert bindings["httpTrigger"]["authLevel"] == "FUNCTION"
        assert bindings["durableClient"]["name"] == "client"


def test_timer_starts_the_capped_scheduler_on_the_configured_schedule() -> None:
    functions = indexed()
    assert functions[names.SCHEDULED_EXPORTS_ORCHESTRATION][0]["type"] == "orchestrationTrigger"
    assert functions[names.SCHEDULED_EXPORTS_LANE][0]["type"] == "orchestrationTrigger"
    timer = {b["type"]: b for b in functions["export_schedule"]}
    assert timer["timerTrigger"]["schedule"] == "%EXPORT_SCHEDULE%"
    assert timer["timerTrigger"]["runOnStartup"] is False
    assert timer["durableClient"]["name"] == "client"


def test_consumer_listens_on_the_events_queue_through_a_named_connection() -> None:
    [trigger] = indexed()["consume_export_event"]
    assert trigger["type"] == "queueTrigger"
    assert trigger["queueName"] == "%EXPORTS_EVENTS_QUEUE%"
    assert trigger["connection"] == "EXPORTS_QUEUE"


def test_an_event_grid_subscription_can_feed_the_same_consumer() -> None:
    [trigger] = indexed()["consume_export_grid_event"]
    assert trigger["type"] == "eventGridTrigger"
