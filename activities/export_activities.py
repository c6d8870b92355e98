"""The four activities of an export: create, check, download, publish.

Each takes and answers the JSON of a type in `orchestrators.contracts` and
never a token; the request's target is validated into `targets.Target` as it
is decoded. Classified failures (`kernel.errors.ExportError`: upstream,
storage, token cache, configuration, a request or manifest that cannot be
decoded) are answered as a `Failure` so the orchestrator decides what they
mean; anything else raises and the orchestrator treats it as a transient
failure of the activity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TypeVar

from azure.core.exceptions import AzureError

from activities.connections import connector_for
from activities.result_store import StoredResult, store_result
from connectors.base import ExportConnector, JobState, JobStatus
from kernel.errors import ErrorKind, ExportError, StorageError, UpstreamError
from kernel.redaction import clean_message
from kernel.timestamps import not_after, parse_timestamp, to_iso
from orchestrators import names
from orchestrators.contracts import (
    CheckJobRequest,
    CleanupAnswer,
    CleanupRequest,
    Contract,
    CreateJobRequest,
    DownloadRequest,
    Failure,
    JobAnswer,
    PublishRequest,
    StoredExport,
    decode,
)
from sinks.blob_names import manifest_blob_name
from sinks.blob_writer import existing_blob
from sinks.events import build_export_event, to_json_dict
from sinks.job_claims import claimed_by_others, release_claim, write_claim
from sinks.manifest import (
    ExportManifest,
    RecordsFormat,
    read_manifest,
    record_cleanup,
    remove_unlisted_parts,
    update_latest,
    write_manifest,
)
from sinks.storage_clients import StorageSettings, build_publisher

log = logging.getLogger(__name__)
Payload = dict[str, Any]
R = TypeVar("R", bound=Contract)


def _guarded(call: Callable[[], Payload]) -> Payload:
    try:
        return call()
    except ExportError as error:
        log.warning("%s call failed: %s", error.source.value, error)
        return Failure(error=error).to_json()
    except AzureError as error:  # our own storage, not the upstream: its own type, so the user looks in the right place
        failure = StorageError(ErrorKind.TRANSIENT, f"Blob Storage: {clean_message(str(error).strip() or repr(error))}")
        log.warning("storage call failed: %s", failure)
        return Failure(error=failure).to_json()


def _request(payload: Payload, kind: type[R], activity: str) -> Callable[[], R]:
    """Decode the request inside `_guarded`: one that cannot be decoded (a target that no longer validates, a
    shape of an unknown release) is a permanent `ContractError` naming what was wrong, never retried."""
    return lambda: decode(payload, kind, f"the request of activity {activity}")


def create_export_job(payload: Payload) -> Payload:
    """Start the upstream job. A 409 is answered by looking up the running job, to adopt it. The job created or
    adopted is claimed for this instance (`sinks.job_claims`), so no other run's look-up adopts it."""
    decoded = _request(payload, CreateJobRequest, names.CREATE_JOB)

    def create() -> Payload:
        request = decoded()
        target = request.target
        connector = connector_for(target.to_input())
        own = _own_job(connector, request, target.name)
        if own is not None:
            log.info("target %s: found job %s of an earlier attempt upstream; adopting it", target.name, own.job_id)
            answer = JobAnswer(job=own, adopted=True, min_interval_s=connector.min_interval_s)
        else:
            try:
                answer = JobAnswer(job=connector.start_job(), min_interval_s=connector.min_interval_s)
            except UpstreamError as error:
                if error.kind is not ErrorKind.CONFLICT or not error.existing_job_id:
                    raise
                log.info("target %s: a job is already running upstream; adopting it", target.name)
                adopted = connector.get_job(error.existing_job_id)
                answer = JobAnswer(job=adopted, adopted=True, min_interval_s=connector.min_interval_s)
        if request.instance_id:
            container = StorageSettings.from_env().container_client()
            write_claim(container, target.name, request.instance_id, answer.job.job_id)
        return answer.to_json()

    return _guarded(create)


def _own_job(connector: ExportConnector, request: CreateJobRequest, target: str) -> JobStatus | None:
    """Where the upstream can list jobs, one of ours that an earlier attempt created but never recorded.

    Best effort: the look-up only spares a second job after a crash, so the connector reads a list the upstream
    refuses or garbles as no job (logged once, never retried) and the create goes on. Skipped here: jobs this run
    gave up on, jobs another instance claims, jobs already exported (a manifest exists).
    """
    not_before = parse_timestamp(request.not_before)
    if not_before is None:
        return None
    candidates = [job for job in connector.find_own_jobs(not_before) if job.job_id not in request.exclude_job_ids]
    if not candidates:
        return None
    container = StorageSettings.from_env().container_client()
    others = claimed_by_others(container, target, request.instance_id)
    for job in candidates:
        if job.job_id not in others and not container.get_blob_client(manifest_blob_name(target, job.job_id)).exists():
            return job
    return None


def check_export_job(payload: Payload) -> Payload:
    """Poll the job: through its reference URL when the create gave one, else by its id."""
    decoded = _request(payload, CheckJobRequest, names.CHECK_JOB)

    def check() -> Payload:
        request = decoded()
        connector = connector_for(request.target.to_input())
        known = JobStatus(request.job_id, JobState.RUNNING, "", job_ref=request.job_ref)
        return JobAnswer(job=connector.check_job(known), min_interval_s=connector.min_interval_s).to_json()

    return _guarded(check)


def download_export(payload: Payload) -> Payload:
    """Stream the finished job into Blob Storage (one blob, or one per part), then write its manifest and move
    latest.json, then clean the upstream job up where the connector can. A job with no data stores a manifest
    without parts."""
    decoded = _request(payload, DownloadRequest, names.DOWNLOAD)

    def download() -> Payload:
        request = decoded()
        target, job, instance_id = request.target, request.job, request.instance_id
        container = StorageSettings.from_env().container_client()
        connector = connector_for(target.to_input())
        reused = _already_stored(container, connector, target.name, job)
        if reused is not None:
            release_claim(container, target.name, instance_id)
            return reused.to_json()
        layout = connector.result_layout(job)
        if job.state is JobState.NO_DATA:
            stored = StoredResult(blob=None, parts=[], refused_content_type=None)
        else:
            stored = store_result(
                container, connector, job, target=target.name, connector_name=target.connector, instance_id=instance_id
            )
        committed = datetime.now(UTC)
        manifest = ExportManifest(
            target=target.name,
            connector=target.connector,
            job_id=job.job_id,
            instance_id=instance_id,
            blob=stored.blob,
            parts=stored.parts,
            records=RecordsFormat(format=layout.records, path=layout.records_path) if layout.records else None,
            no_data=job.state is JobState.NO_DATA,
            upstream_state=job.state.value,
            created_at=not_after(job.created_at, committed),  # a creation in our future is no time at all
            completed_at=to_iso(committed),
            upstream_expires_at=job.expires_at,
            refused_content_type=stored.refused_content_type,
        )
        manifest_name = write_manifest(container, manifest)
        update_latest(container, manifest)
        release_claim(container, target.name, instance_id)  # the manifest now keeps every look-up off this job
        manifest = _cleaned_up(container, connector, job, manifest)
        return _stored(manifest, manifest_name).to_json()

    return _guarded(download)


def _stored(manifest: ExportManifest, name: str, *, reused: bool = False) -> StoredExport:
    return StoredExport(
        blob=manifest.blob,
        manifest=name,
        reused=reused,
        parts=len(manifest.stored_parts()),
        bytes=manifest.total_size(),
        no_data=manifest.no_data,
        cleanup=manifest.cleanup,
    )


def _cleaned_up(container: Any, connector: ExportConnector, job: JobStatus, manifest: ExportManifest) -> ExportManifest:
    """After the store: the upstream job deleted where the connector can, and what happened kept in the manifest.
    A failure (already retried once by the connector) is logged and recorded, never raised."""
    outcome = connector.cleanup(job, "after_store")
    if not outcome.sent:
        return manifest
    if outcome.error:
        log.warning("target %s: the upstream job could not be cleaned up: %s", manifest.target, outcome.error)
    return record_cleanup(container, manifest, outcome)


def _already_stored(container: Any, connector: ExportConnector, target: str, job: JobStatus) -> StoredExport | None:
    """A re-run for a job already committed (manifest and every part agree) reuses it instead of downloading."""
    name = manifest_blob_name(target, job.job_id)
    manifest = read_manifest(container, name)
    if manifest is None:
        return None
    if manifest.blob is None and not manifest.parts and not manifest.no_data:
        return None
    for part in manifest.stored_parts():
        blob = existing_blob(container, part.name)
        if blob is None or blob.sha256 != part.sha256:
            return None
    update_latest(container, manifest)
    if manifest.cleanup is None:  # stored, but the attempt that stored it ended before its cleanup
        manifest = _cleaned_up(container, connector, job, manifest)
    return _stored(manifest, name, reused=True)


def cleanup_export_job(payload: Payload) -> Payload:
    """Delete or abort the upstream job (a cancelled export, a passed deadline). Never a failure: the connector
    retries once and answers what happened."""
    decoded = _request(payload, CleanupRequest, names.CLEANUP_JOB)

    def cleanup() -> Payload:
        request = decoded()
        outcome = connector_for(request.target.to_input()).cleanup(request.job, request.when)
        if outcome.error:
            log.warning("target %s: the upstream job could not be cleaned up: %s", request.target.name, outcome.error)
        return CleanupAnswer(cleanup=outcome).to_json()

    return _guarded(cleanup)


def publish_export_event(payload: Payload) -> Payload:
    """Announce the finished run (after clearing its job claim: the run polls nothing any more)."""
    request = decode(payload, PublishRequest, f"the request of activity {names.PUBLISH_EVENT}")
    _release_claim_of(request.target.name, request.instance_id)
    _remove_abandoned_parts(request.target.name, request.abandoned_job_ids)
    event = build_export_event(
        target=request.target.name,
        connector=request.target.connector,
        instance_id=request.instance_id,
        outcome=request.outcome,
        job_id=request.job_id,
        blob=request.blob.model_dump(mode="json") if request.blob else None,
        manifest=request.manifest,
        error=request.error,
        parts=request.parts,
        size=request.bytes,
        no_data=request.no_data,
        cleanup=asdict(request.cleanup) if request.cleanup else None,
    )
    return to_json_dict(build_publisher().publish(event))


def _remove_abandoned_parts(target: str, job_ids: list[str]) -> None:
    """Best effort: parts of jobs this run gave up on, which no manifest will ever list, are deleted."""
    if not job_ids:
        return
    try:
        container = StorageSettings.from_env().container_client()
        removed = sum(remove_unlisted_parts(container, target, job_id) for job_id in job_ids)
    except (AzureError, ValueError) as error:
        log.warning("target %s: parts of abandoned jobs could not be removed: %s", target, type(error).__name__)
        return
    if removed:
        log.info("target %s: removed %d part(s) that abandoned jobs left without a manifest", target, removed)


def _release_claim_of(target: str, instance_id: str) -> None:
    """Best effort: a claim left behind only makes a later look-up create rather than adopt."""
    try:
        release_claim(StorageSettings.from_env().container_client(), target, instance_id)
    except (AzureError, ValueError) as error:
        log.warning("target %s: the job claim could not be cleared: %s", target, type(error).__name__)


ACTIVITIES: dict[str, Callable[[Payload], Payload]] = {
    names.CREATE_JOB: create_export_job,
    names.CHECK_JOB: check_export_job,
    names.DOWNLOAD: download_export,
    names.PUBLISH_EVENT: publish_export_event,
    names.CLEANUP_JOB: cleanup_export_job,
}
