"""HTTP handlers: start an export (idempotently), read its state, cancel it."""

from __future__ import annotations

import json
import logging

import azure.durable_functions as df
import azure.functions as func

from orchestrators import names
from orchestrators.export_state import ExportInput
from orchestrators.instance_ids import export_instance_id
from triggers.configured_targets import configured_targets
from triggers.instance_status import ACTIVE, ALIVE, runtime_name
from triggers.requests import BadRequest, parse_start_request

log = logging.getLogger(__name__)


def problem(status: int, title: str, detail: str) -> func.HttpResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/problem+json")


async def start_export(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        request = parse_start_request(req.get_body(), dict(req.headers), configured_targets)
    except BadRequest as exc:
        return problem(400, "Invalid export request", str(exc))
    instance_id = export_instance_id(request.target.name, request.run_key)
    existing = runtime_name(await client.get_status(instance_id))
    if existing in ALIVE:
        log.info("export %s already exists as %s (%s): not started again", request.target.name, instance_id, existing)
    else:
        payload = ExportInput(target=request.target.to_input(), run_key=request.run_key).to_dict()
        await client.start_new(names.EXPORT_ORCHESTRATION, instance_id, payload)
        log.info("started export %s as %s", request.target.name, instance_id)
    response: func.HttpResponse = client.create_check_status_response(req, instance_id)
    return response


async def export_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = req.route_params.get("instance_id", "")
    status = await client.get_status(instance_id)
    runtime = runtime_name(status)
    if runtime is None:
        return problem(404, "Unknown export", f"no export instance {instance_id!r}")
    body = {
        "instance_id": instance_id,
        "runtime_status": runtime,
        "progress": status.custom_status,
        "output": status.output,
        "created_time": str(status.created_time) if status.created_time else None,
        "last_updated_time": str(status.last_updated_time) if status.last_updated_time else None,
    }
    return func.HttpResponse(json.dumps(body, default=str), status_code=200, mimetype="application/json")


async def cancel_export(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = req.route_params.get("instance_id", "")
    runtime = runtime_name(await client.get_status(instance_id))
    if runtime is None:
        return problem(404, "Unknown export", f"no export instance {instance_id!r}")
    if runtime not in ACTIVE:
        return problem(409, "Export already finished", f"instance {instance_id!r} is {runtime}")
    await client.terminate(instance_id, "cancelled through the HTTP API")
    return func.HttpResponse(json.dumps({"instance_id": instance_id, "cancelled": True}), status_code=202,
                             mimetype="application/json")  # fmt: skip
