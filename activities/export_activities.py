"""The four activities of an export: create, check, download, publish.

Each takes and answers the JSON of a type in `orchestrators.contracts` and
never a token, and validates the target it is given into `targets.Target`
before using it. Classified upstream failures are answered as a `Failure` so
the orchestrator decides what they mean; anything else raises and the
orchestrator treats it as a transient failure of the activity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import AzureError

from activities.connections import connector_for
from connectors.base import ErrorKind, ExportConnector, JobStatus, UpstreamError
from connectors.redaction import clean_message, clip
from connectors.timestamps import parse_timestamp, to_iso
from orchestrators import names
from orchestrators.contracts import (
    CheckJobRequest,
    CreateJobRequest,
    DownloadRequest,
    Failure,
    JobAnswer,
    PublishRequest,
    StoredExport,
    TargetJson,
)
from sinks.blob_names import content_blob_name, manifest_blob_name
from sinks.blob_writer import existing_blob, write_stream
from sinks.events import build_export_event, to_json_dict
from sinks.manifest import ExportManifest, read_manifest, update_latest, write_manifest
from sinks.storage_clients import StorageSettings, build_publisher
from targets import Target

log = logging.getLogger(__name__)
# httpx logs each request's URL at INFO; a download URL may carry a pre-signed query string.
logging.getLogger("httpx").setLevel(logging.WARNING)
Payload = dict[str, Any]


def _guarded(call: Callable[[], Payload]) -> Payload:
    try:
        return call()
    except UpstreamError as error:
        log.warning("upstream call failed: %s", error)
        return Failure(error=error).to_json()
    except AzureError as error:  # our own storage, not the upstream: its own kind, so the user looks in the right place
        failure = UpstreamError(ErrorKind.STORAGE, f"Blob Storage: {clean_message(str(error).strip() or repr(error))}")
        log.warning("storage call failed: %s", failure)
        return Failure(error=failure).to_json()


def _target(data: TargetJson) -> Target:
    """The orchestration's target, validated again: one that cannot be used fails the run, never retried."""
    try:
        return Target.from_input(data)
    except ValueError as exc:
        raise UpstreamError(ErrorKind.PERMANENT, f"the target cannot be used: {clip(str(exc), 500)}") from None


def create_export_job(payload: Payload) -> Payload:
    """Start the upstream job. A 409 is answered by looking up the running job, to adopt it."""
    request = CreateJobRequest.from_json(payload)

    def create() -> Payload:
        target = _target(request.target)
        connector = connector_for(target.to_input())
        own = _own_job(connector, request, target.name)
        if own is not None:
            log.info("target %s: found job %s of an earlier attempt upstream; adopting it", target.name, own.job_id)
            return JobAnswer(job=own, adopted=True).to_json()
        try:
            return JobAnswer(job=connector.start_job()).to_json()
        except UpstreamError as error:
            if error.kind is not ErrorKind.CONFLICT or not error.existing_job_id:
                raise
            log.info("target %s: a job is already running upstream; adopting it", target.name)
            return JobAnswer(job=connector.get_job(error.existing_job_id), adopted=True).to_json()

    return _guarded(create)


def _own_job(connector: ExportConnector, request: CreateJobRequest, target: str) -> JobStatus | None:
    """Where the upstream can list jobs, one of ours that an earlier attempt created but never recorded."""
    not_before = parse_timestamp(request.not_before)
    if not_before is None:
        return None
    container = StorageSettings.from_env().container_client()
    for job in connector.find_own_jobs(not_before):
        if (
            job.job_id not in request.exclude_job_ids
            and read_manifest(container, manifest_blob_name(target, job.job_id)) is None
        ):
            return job
    return None


def check_export_job(payload: Payload) -> Payload:
    request = CheckJobRequest.from_json(payload)

    def check() -> Payload:
        target = _target(request.target)
        return JobAnswer(job=connector_for(target.to_input()).get_job(request.job_id)).to_json()

    return _guarded(check)


def download_export(payload: Payload) -> Payload:
    """Stream the finished job into Blob Storage, write its manifest and move latest.json."""
    request = DownloadRequest.from_json(payload)
    job, instance_id = request.job, request.instance_id

    def download() -> Payload:
        target = _target(request.target)
        container = StorageSettings.from_env().container_client()
        reused = _already_stored(container, target.name, job.job_id)
        if reused is not None:
            return reused.to_json()
        with connector_for(target.to_input()).open_content(job) as stream:
            refused_type = stream.refused_content_type
            if refused_type is not None:
                log.warning(
                    "target %s: the upstream's Content-Type is not a media type (%s); stored as %s",
                    target.name,
                    refused_type,
                    stream.content_type,
                )
            name = content_blob_name(target.name, job.job_id, stream.content_type)
            written = write_stream(
                container,
                name,
                stream.iter_bytes(),
                content_type=stream.content_type,
                attempt_id=f"{instance_id}:{job.job_id}",
                expected_length=stream.content_length,
                metadata={"target": target.name, "connector": target.connector},
            )
        manifest = ExportManifest(
            target=target.name,
            connector=target.connector,
            job_id=job.job_id,
            instance_id=instance_id,
            blob=written,
            created_at=job.created_at,
            completed_at=to_iso(datetime.now(UTC)),
            upstream_expires_at=job.expires_at,
            refused_content_type=refused_type,
        )
        manifest_name = write_manifest(container, manifest)
        update_latest(container, manifest)
        return StoredExport(blob=manifest.blob.model_dump(), manifest=manifest_name).to_json()

    return _guarded(download)


def _already_stored(container: Any, target: str, job_id: str) -> StoredExport | None:
    """A re-run for a job already committed (manifest and blob agree) reuses it instead of downloading."""
    manifest = read_manifest(container, manifest_blob_name(target, job_id))
    if manifest is None:
        return None
    blob = existing_blob(container, manifest.blob.name)
    if blob is None or blob.sha256 != manifest.blob.sha256:
        return None
    update_latest(container, manifest)
    return StoredExport(blob=manifest.blob.model_dump(), manifest=manifest_blob_name(target, job_id), reused=True)


def publish_export_event(payload: Payload) -> Payload:
    request = PublishRequest.from_json(payload)
    event = build_export_event(
        target=request.target.name,
        connector=request.target.connector,
        instance_id=request.instance_id,
        outcome=request.outcome,
        job_id=request.job_id,
        blob=request.blob,
        manifest=request.manifest,
        error=request.error,
    )
    return to_json_dict(build_publisher().publish(event))


ACTIVITIES: dict[str, Callable[[Payload], Payload]] = {
    names.CREATE_JOB: create_export_job,
    names.CHECK_JOB: check_export_job,
    names.DOWNLOAD: download_export,
    names.PUBLISH_EVENT: publish_export_event,
}
