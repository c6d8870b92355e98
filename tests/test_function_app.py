"""The Functions worker's own indexing of `function_app`: every function, trigger, binding and route.

Deliveries are decoded by azure-functions' own converters (the worker's path from the host's payload to the
argument) and handed to the function the app registered, as the worker calls it.
"""

from __future__ import annotations

import functools
import json
import logging
import typing
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum

import function_app
from downstream import ChecksumMismatch, consumer
from local.cli import run_export
from local.simulator import Simulator
from orchestrators import names
from sinks.events import build_export_event, to_json_dict
from tests.support import storage
from tests.support.targets import viva_target


@functools.cache  # the worker indexes once; a second get_functions() call refuses the same names again
def registered() -> dict[str, func.Function]:
    return {str(f.get_function_name()): f for f in function_app.app.get_functions()}


def indexed() -> dict[str, list[dict[str, Any]]]:
    return {name: [json.loads(b) for b in f.get_raw_bindings()] for name, f in registered().items()}


def user_function(name: str) -> Callable[..., Any]:
    function: Callable[..., Any] = registered()[name].get_user_function()
    return function


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


def event_grid_delivery(body: dict[str, Any]) -> Any:
    """What the worker passes for one Event Grid delivery: the event's JSON decoded by azure-functions."""
    metadata = {"sys": Datum(type="json", value=json.dumps({"MethodName": "consume_export_grid_event"}))}
    return EventGridEventInConverter.decode(Datum(type="json", value=json.dumps(body)), trigger_metadata=metadata)


def test_the_event_grid_consumer_declares_the_type_a_cloud_event_delivery_decodes_to() -> None:
    [trigger] = indexed()["consume_export_grid_event"]
    annotation = typing.get_type_hints(user_function("consume_export_grid_event"))["event"]
    assert EventGridEventInConverter.check_input_type_annotation(annotation)  # the worker's load-time check
    delivered = event_grid_delivery({"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": {}})
    assert isinstance(delivered, annotation)
    assert trigger == {"direction": "IN", "type": "eventGridTrigger", "name": "event"}


def test_an_event_grid_delivery_reads_back_as_the_envelope_the_queue_carries() -> None:
    sent = to_json_dict(
        build_export_event(
            target="goals",
            connector="viva_goals",
            instance_id="i",
            outcome="failed",
            job_id=None,
            error="gone",
            time=datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
        )
    )
    envelope = consumer.envelope_of(event_grid_delivery(sent))
    assert envelope == {key: sent.get(key) for key in envelope}
    assert envelope["time"] == "2026-01-02T03:04:05.600000Z"


@pytest.mark.integration
@pytest.mark.usefixtures("export_env")
def test_an_event_grid_cloud_event_is_consumed_by_the_registered_function(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    run_export(viva_target(simulator), run_key=uuid.uuid4().hex, timer_scale=0.001)
    [published] = storage.events()  # the CloudEvents 1.0 JSON sinks/events.py sends, queue or topic alike
    consume = user_function("consume_export_grid_event")
    with caplog.at_level(logging.INFO, logger="downstream.consumer"):
        consume(event_grid_delivery(published))
    assert f"export {published['id']} of goals:" in caplog.text
    assert "sha256 verified" in caplog.text
    storage.container().upload_blob(published["data"]["blob"]["name"], b"Title\nchanged\n", overwrite=True)
    with pytest.raises(ChecksumMismatch):  # the function really read the blob the event names
        consume(event_grid_delivery(published))


@pytest.mark.integration
@pytest.mark.usefixtures("export_env")
def test_a_failed_export_delivered_by_event_grid_is_reported_not_read(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    simulator.config.organizations = {}
    run_export(viva_target(simulator), run_key="grid-failed", timer_scale=0.001)
    [published] = storage.events()
    assert published["data"]["status"] == "failed"
    with caplog.at_level(logging.WARNING, logger="downstream.consumer"):
        user_function("consume_export_grid_event")(event_grid_delivery(published))
    assert f"export {published['id']} of goals failed upstream" in caplog.text
