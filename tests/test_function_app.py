"""The Functions worker's own indexing of `function_app`: every function, trigger, binding and route.

Deliveries are decoded by azure-functions' own converters (the worker's path from the host's payload to the
argument) and handed to the function the app registered, as the worker calls it.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import subprocess
import sys
import typing
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum

import function_app
from downstream import ChecksumMismatch, consumer
from local.cli import local_runner, run_export
from local.simulator import Simulator
from orchestrators import names
from sinks.events import build_export_event, to_json_dict
from tests.support import storage
from tests.support.targets import viva_target

REPO = Path(function_app.__file__).resolve().parent


@functools.cache  # the worker indexes once; a second get_functions() call refuses the same names again
def registered(sink: str = "queue") -> dict[str, func.Function]:
    """What a fresh import of the real function_app.py registers when EXPORTS_EVENTS_SINK is `sink`."""
    spec = importlib.util.spec_from_file_location(f"function_app_{sink}", REPO / "function_app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EXPORTS_EVENTS_SINK", sink)
        spec.loader.exec_module(module)
    return {str(f.get_function_name()): f for f in module.app.get_functions()}


def indexed(sink: str = "queue") -> dict[str, list[dict[str, Any]]]:
    return {name: [json.loads(b) for b in f.get_raw_bindings()] for name, f in registered(sink).items()}


def user_function(name: str, sink: str = "queue") -> Callable[..., Any]:
    function: Callable[..., Any] = registered(sink)[name].get_user_function()
    return function


def test_the_local_runner_knows_every_orchestrator_and_activity_the_app_registers_and_no_other() -> None:
    durable = {"orchestrationTrigger", "activityTrigger"}
    by_trigger: dict[str, set[str]] = {kind: set() for kind in durable}
    for name, bindings in indexed().items():
        for binding in bindings:
            if binding["type"] in durable:
                by_trigger[binding["type"]].add(name)
    with local_runner(timer_scale=0) as runner:
        assert runner.function_names == by_trigger
        empty_plan = {"exports": [], "max_in_flight": 1}
        assert runner.run(names.SCHEDULED_EXPORTS_ORCHESTRATION, empty_plan, "scheduler").status == "Completed"


SINK_PROBE = """
import json, sys
import function_app
from sinks.storage_clients import build_publisher
functions = sorted(str(f.get_function_name()) for f in function_app.app.get_functions())
loaded_at_start = "azure.eventgrid" in sys.modules
publisher = type(build_publisher()).__name__
print(json.dumps([functions, loaded_at_start, publisher, "azure.eventgrid" in sys.modules]))
"""


def import_function_app(sink: str) -> subprocess.CompletedProcess[str]:
    """Import the real function_app.py in a fresh interpreter whose EXPORTS_EVENTS_SINK is `sink`."""
    env = {
        **os.environ,
        "EXPORTS_EVENTS_SINK": sink,
        "EXPORTS_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true",  # clients are made, never used
        "EVENTGRID_TOPIC_ENDPOINT": "https://127.0.0.1:9/api/events",
    }
    command = [sys.executable, "-c", SINK_PROBE]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("sink", "grid", "publisher"),
    [("queue", False, "QueueEventPublisher"), ("eventgrid", True, "EventGridEventPublisher")],
)
def test_the_event_grid_side_is_registered_and_imported_only_when_the_setting_chooses_it(
    sink: str, grid: bool, publisher: str
) -> None:
    probe = import_function_app(sink)
    assert probe.returncode == 0, probe.stderr
    functions, loaded_at_start, built, loaded_after = json.loads(probe.stdout.splitlines()[-1])
    assert "consume_export_event" in functions
    assert ("consume_export_grid_event" in functions) is grid
    assert loaded_at_start is False  # the app starts without the Event Grid SDK either way
    assert (built, loaded_after) == (publisher, grid)


def test_an_unknown_events_sink_stops_the_app_from_loading() -> None:
    probe = import_function_app("carrier-pigeon")
    assert probe.returncode != 0
    assert "EXPORTS_EVENTS_SINK must be 'queue' or 'eventgrid', got 'carrier-pigeon'" in probe.stderr


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
    # The previous release's scheduler stays registered under its old names until its last instance ends.
    assert functions["scheduled_exports_orchestrator"][0]["type"] == "orchestrationTrigger"
    assert functions["scheduled_exports_lane"][0]["type"] == "orchestrationTrigger"
    assert names.SCHEDULED_EXPORTS_ORCHESTRATION not in {"scheduled_exports_orchestrator", "scheduled_exports_lane"}
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
    [trigger] = indexed("eventgrid")["consume_export_grid_event"]
    assert trigger["type"] == "eventGridTrigger"


def event_grid_delivery(body: dict[str, Any]) -> Any:
    """What the worker passes for one Event Grid delivery: the event's JSON decoded by azure-functions."""
    metadata = {"sys": Datum(type="json", value=json.dumps({"MethodName": "consume_export_grid_event"}))}
    return EventGridEventInConverter.decode(Datum(type="json", value=json.dumps(body)), trigger_metadata=metadata)


def test_the_event_grid_consumer_declares_the_type_a_cloud_event_delivery_decodes_to() -> None:
    [trigger] = indexed("eventgrid")["consume_export_grid_event"]
    annotation = typing.get_type_hints(user_function("consume_export_grid_event", "eventgrid"))["event"]
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
    consume = user_function("consume_export_grid_event", "eventgrid")
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
        user_function("consume_export_grid_event", "eventgrid")(event_grid_delivery(published))
    assert f"export {published['id']} of goals failed upstream" in caplog.text
