"""The Azure Functions app: wiring only. Every trigger hands over to code in the packages."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from activities import export_activities
from downstream import consumer
from orchestrators import export_orchestrator as export_module
from orchestrators import scheduled_exports
from triggers import http_api, schedule_tick
from triggers.configured_targets import configured_targets

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

# Orchestration and activities, registered under the names in orchestrators/names.py.
app.orchestration_trigger(context_name="context")(export_module.export_orchestrator)
app.orchestration_trigger(context_name="context")(scheduled_exports.scheduled_exports_orchestrator)
app.orchestration_trigger(context_name="context")(scheduled_exports.scheduled_exports_lane)
app.activity_trigger(input_name="payload")(export_activities.create_export_job)
app.activity_trigger(input_name="payload")(export_activities.check_export_job)
app.activity_trigger(input_name="payload")(export_activities.download_export)
app.activity_trigger(input_name="payload")(export_activities.publish_export_event)


@app.route(route="exports", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_export(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await http_api.start_export(req, client)


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
    await schedule_tick.run_tick(client, configured_targets().values())


@app.queue_trigger(arg_name="message", queue_name="%EXPORTS_EVENTS_QUEUE%", connection="EXPORTS_QUEUE")
def consume_export_event(message: func.QueueMessage) -> None:
    consumer.consume_event(message.get_body().decode("utf-8"))


# The topic takes and delivers the CloudEvents 1.0 schema, which azure-functions' Event Grid converter decodes to
# a func.CloudEvent (it has `type`, no `event_type`); the annotation must name that class.
@app.event_grid_trigger(arg_name="event")
def consume_export_grid_event(event: func.CloudEvent) -> None:
    consumer.consume_envelope(consumer.envelope_of(event))
