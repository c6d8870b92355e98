"""The Azure Functions app: wiring only. Every trigger hands over to code in the packages."""

from __future__ import annotations

import asyncio

import azure.durable_functions as df
import azure.functions as func

import app_functions
from app_logging import quiet_url_loggers
from downstream import consumer
from sinks import freshness
from sinks.storage_clients import events_sink
from telemetry.azure import configure_from_settings
from triggers import http_api, schedule_tick
from triggers.configured_targets import configured_targets

quiet_url_loggers()  # the entry point configures the process; no module does it at import
configure_from_settings()  # Azure Monitor only when APPLICATIONINSIGHTS_CONNECTION_STRING is set; else nothing
app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

# Orchestrators and activities, each under its name in orchestrators/names.py (the local runner reads the same table).
for name, orchestrator in app_functions.ORCHESTRATORS.items():
    app.function_name(name)(app.orchestration_trigger(context_name="context")(orchestrator))
for name, activity in app_functions.ACTIVITIES.items():
    app.function_name(name)(app.activity_trigger(input_name="payload")(activity))


@app.route(route="exports", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_export(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await http_api.start_export(req, client)


@app.route(route="exports", methods=["GET"])
@app.durable_client_input(client_name="client")
async def list_exports(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await http_api.list_exports(req, client)


@app.route(route="exports/{instance_id}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def export_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await http_api.export_status(req, client)


@app.route(route="exports/{instance_id}/cancel", methods=["POST"])
@app.durable_client_input(client_name="client")
async def cancel_export(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await http_api.cancel_export(req, client)


@app.timer_trigger(schedule="%EXPORT_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@app.durable_client_input(client_name="client")
async def export_schedule(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    targets = list(configured_targets().values())
    await asyncio.to_thread(freshness.check_configured, targets)  # stale / fresh events first; never raises
    await schedule_tick.run_tick(client, targets)


@app.queue_trigger(arg_name="message", queue_name="%EXPORTS_EVENTS_QUEUE%", connection="EXPORTS_QUEUE")
def consume_export_event(message: func.QueueMessage) -> None:
    consumer.consume_event(message.get_body().decode("utf-8"))


if events_sink() == "eventgrid":  # an app that publishes to the queue neither registers nor loads the Event Grid side
    # The topic takes and delivers the CloudEvents 1.0 schema, which azure-functions' Event Grid converter decodes
    # to a func.CloudEvent (it has `type`, no `event_type`); the annotation must name that class.
    @app.event_grid_trigger(arg_name="event")
    def consume_export_grid_event(event: func.CloudEvent) -> None:
        consumer.consume_envelope(consumer.envelope_of(event))
