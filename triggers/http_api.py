"""HTTP handlers: start an export (idempotently), read its state, cancel it.

What a caller gets and can reach is narrowed on purpose:

- Instance ids in routes must have exactly the shape `export_instance_id` makes, so nothing a caller types
  (`../`, `?`, `#`, `%2F`) can reach the Durable client's management URLs, and status and cancel act on
  export orchestrations only (never the scheduler or anything else in the task hub).
- The 202 answer carries this app's own status and cancel URLs, never the extension's management URLs
  (in Azure those carry the system key, which can terminate, rewind or purge any instance).
- An Idempotency-Key names one export, whatever the target: the instance id derives from the key alone
  (`request_instance_id`), so the same key with a request that resolves to a different export (another
  target or other params) finds that instance and is a 409 problem, never a second export and never
  silently the first instance, even after the first has finished. The comparison is on the orchestration
  input itself (the validated target and the run key), which the instance keeps across `continue_as_new`,
  so no separate hash needs storing.
- Check-then-start race: two requests with one key (for one target or two) can both find no instance. host.json sets
  `overridableExistingInstanceStates` to `NonRunningStates` (the extension's default since 2019, pinned so a
  bundle change cannot turn it into `AnyState`): the host then refuses to start over a Pending or Running
  instance, the loser's `start_new` fails, and the loser answers from the winner's instance exactly as if
  it had found it first. A Failed or Terminated instance may be started again with the same key and body:
  that is how a caller retries.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote, urlsplit

import azure.durable_functions as df
import azure.functions as func
from azure.core.exceptions import AzureError

from activities.connections import connector_for
from connectors.base import JobState, JobStatus
from kernel.errors import ExportError
from kernel.results import CleanupOutcome
from orchestrators import names
from orchestrators.contracts import ExportProgress
from orchestrators.export_state import ExportInput
from orchestrators.instance_ids import is_export_instance_id
from sinks.manifest import stored_part_count
from sinks.storage_clients import StorageSettings
from triggers import run_history
from triggers.configured_targets import configured_targets
from triggers.instance_status import ACTIVE, ALIVE, query_instances, runtime_name
from triggers.start_request import BadRequest, parse_start_request

log = logging.getLogger(__name__)
RETRY_AFTER_S = "10"


def problem(status: int, title: str, detail: str) -> func.HttpResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/problem+json")


def _stored_input(status: Any) -> Any:
    """The instance's input as JSON data (the client sends it JSON-encoded, so the host may keep a string)."""
    value = getattr(status, "input_", None)
    while isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value


def _same_export(status: Any, payload: dict[str, Any]) -> bool:
    stored = _stored_input(status)
    if not isinstance(stored, dict):
        return False
    return bool(stored.get("target") == payload["target"] and stored.get("run_key") == payload["run_key"])


def _key_reused(instance_id: str) -> func.HttpResponse:
    return problem(
        409,
        "Idempotency-Key already used for another export",
        f"instance {instance_id!r} was started by this Idempotency-Key with a different target or params; "
        "send the same request to reach it, or use a new key for a new export",
    )


async def start_export(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        request = parse_start_request(req.get_body(), dict(req.headers), configured_targets)
    except BadRequest as exc:
        return problem(400, "Invalid export request", str(exc))
    instance_id = request.instance_id
    payload = ExportInput(target=request.target, run_key=request.run_key).to_dict()
    existing = await client.get_status(instance_id, show_input=True)
    if runtime_name(existing) is not None and not _same_export(existing, payload):
        return _key_reused(instance_id)
    if runtime_name(existing) in ALIVE:
        log.info("export %s already exists as %s: not started again", request.target.name, instance_id)
        return _accepted(req, instance_id)
    try:
        await client.start_new(names.EXPORT_ORCHESTRATION, instance_id, payload)
    except Exception:  # the client raises a bare Exception for every refusal by the host
        winner = await client.get_status(instance_id, show_input=True)
        if runtime_name(winner) not in ALIVE:
            raise
        log.info("export %s was started by a concurrent request as %s", request.target.name, instance_id)
        return _accepted(req, instance_id) if _same_export(winner, payload) else _key_reused(instance_id)
    log.info("started export %s as %s", request.target.name, instance_id)
    return _accepted(req, instance_id)


def _accepted(req: func.HttpRequest, instance_id: str) -> func.HttpResponse:
    """202 with this app's own URLs: `<scheme>://<host>/api/exports/<id>` and `.../cancel`, no query string."""
    parts = urlsplit(req.url)
    host = parts.netloc.rpartition("@")[2]
    status_url = f"{parts.scheme}://{host}{parts.path.rstrip('/')}/{quote(instance_id, safe='')}"
    body = {"id": instance_id, "statusUri": status_url, "cancelUri": f"{status_url}/cancel"}
    return func.HttpResponse(
        json.dumps(body),
        status_code=202,
        headers={"Location": status_url, "Retry-After": RETRY_AFTER_S},
        mimetype="application/json",
    )


async def _export_instance(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> tuple[str, Any]:
    """(id, status) of the export named by the route, status None when there is no such export instance."""
    instance_id = req.route_params.get("instance_id", "")
    if not is_export_instance_id(instance_id):
        return instance_id, None
    status = await client.get_status(instance_id)
    if runtime_name(status) is None or getattr(status, "name", None) != names.EXPORT_ORCHESTRATION:
        return instance_id, None
    return instance_id, status


async def export_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id, status = await _export_instance(req, client)
    if status is None:
        return problem(404, "Unknown export", f"no export instance {instance_id[:200]!r}")
    body = status_body(instance_id, status)
    progress = ExportProgress.read(status.custom_status)
    if progress is not None and progress.phase == "downloading" and progress.job_id:
        body["progress"] = {**body["progress"], "parts_stored": parts_stored(progress.target, progress.job_id)}
    return func.HttpResponse(json.dumps(body, default=str), status_code=200, mimetype="application/json")


def parts_stored(target: str, job_id: str) -> int | None:
    """The parts a running multi-part download has committed so far (the orchestration cannot see them until the
    download activity answers); None when storage cannot say."""
    try:
        return stored_part_count(StorageSettings.from_env().container_client(create=False), target, job_id)
    except (AzureError, ValueError) as error:
        log.warning("the parts stored for target %s could not be counted: %s", target, type(error).__name__)
        return None


def status_body(instance_id: str, status: Any) -> dict[str, Any]:
    """What the status endpoint (and each item of the run history) says of one export instance."""
    return {
        "instance_id": instance_id,
        "runtime_status": runtime_name(status),
        "progress": progress.to_json() if (progress := ExportProgress.read(status.custom_status)) else None,
        "output": status.output,
        "created_time": str(status.created_time) if status.created_time else None,
        "last_updated_time": str(status.last_updated_time) if status.last_updated_time else None,
    }


async def list_exports(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """`GET /api/exports?target=&status=&since=&top=&continuation=`: export runs, newest first, paged."""
    try:
        query = run_history.parse_query(dict(req.params))
    except run_history.BadQuery as exc:
        return problem(400, "Invalid run history query", str(exc))
    found = await query_instances(client, query.statuses)
    page, token = run_history.select(found, query, _progress_target)
    body = {
        "runs": [{**status_body(s.instance_id, s), "outcome": run_history.outcome_of(runtime_name(s))} for s in page],
        "continuation": token,
    }
    return func.HttpResponse(json.dumps(body, default=str), status_code=200, mimetype="application/json")


def _progress_target(status: Any) -> str | None:
    progress = ExportProgress.read(getattr(status, "custom_status", None))
    return progress.target if progress is not None else None


async def cancel_export(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id, status = await _export_instance(req, client)
    if status is None:
        return problem(404, "Unknown export", f"no export instance {instance_id[:200]!r}")
    runtime = runtime_name(status)
    if runtime not in ACTIVE:
        return problem(409, "Export already finished", f"instance {instance_id!r} is {runtime}")
    await client.terminate(instance_id, "cancelled through the HTTP API")
    body: dict[str, Any] = {"instance_id": instance_id, "cancelled": True}
    cleanup = cancel_cleanup(await client.get_status(instance_id, show_input=True))
    if cleanup is not None:
        body["cleanup"] = {"sent": cleanup.sent, "error": cleanup.error}
    return func.HttpResponse(json.dumps(body), status_code=202, mimetype="application/json")


def cancel_cleanup(status: Any) -> CleanupOutcome | None:
    """After a cancel: delete or abort the upstream job where the connector can, from here (a terminated
    orchestration runs no more code, so no activity of its own can). Best effort: None when there is no job yet
    or the instance's input cannot be read; a failure is logged and answered, never raised."""
    progress = ExportProgress.read(getattr(status, "custom_status", None))
    raw = getattr(status, "input_", None)
    if progress is None or not progress.job_id or progress.phase in ("succeeded", "failed"):
        return None
    try:
        request = ExportInput.from_dict(json.loads(raw) if isinstance(raw, str) else raw)
        job_id = (request.state.job_id if request.state else None) or progress.job_id
        job = JobStatus(job_id, JobState.RUNNING, progress.upstream_status or "", job_ref=progress.job_ref)
        outcome = connector_for(request.target.to_input()).cleanup(job, "on_cancel")
    except (ValueError, TypeError, ExportError) as error:
        log.warning("the upstream job of a cancelled export was not cleaned up: %s", type(error).__name__)
        return CleanupOutcome(sent=False, error=f"not attempted: {type(error).__name__}")
    if outcome.error:
        log.warning("the upstream job %s of a cancelled export could not be cleaned up: %s", job_id, outcome.error)
    return outcome
