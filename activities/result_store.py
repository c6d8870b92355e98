"""Store a finished job's result: one blob, or one blob per part, then a manifest that lists them all.

Why all-or-nothing: a consumer reads `latest.json` or the manifest an event names, never a listing, so the
manifest (and `latest.json`) is written only once every part is committed; a crash in the middle leaves parts
that no manifest names, and the re-run reuses each part already committed for the same job and source (its
blob's metadata says which) instead of uploading it again. Each part is streamed, hashed and staged by
`sinks.blob_writer` as a single blob always was, and only one part is open at a time (the connector's
`iter_result` is a generator), so memory stays flat whatever the number of parts.

A single-file result keeps the one `content.<ext>` blob and the manifest shape it always had; pages, zip
members and lists of files are stored as `part-00001.<ext>`, ... (`ResultLayout.multi_part`, from the spec).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from azure.storage.blob import ContainerClient

from connectors.base import ContentStream, ExportConnector, JobStatus, ResultPart
from kernel.errors import ErrorKind, UpstreamError
from sinks.blob_names import MAX_PARTS, content_blob_name, export_prefix, part_blob_name
from sinks.blob_ref import BlobRef
from sinks.blob_writer import existing_blob, write_stream
from sinks.manifest import StoredPart

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredResult:
    """What was committed: the one blob of a single-file result, or every part in order."""

    blob: BlobRef | None
    parts: list[StoredPart]
    refused_content_type: str | None  # a single-file result's refused upstream Content-Type
    reused_parts: int = 0


def _source(job: JobStatus, index: int, part: ResultPart) -> str:
    """Which upstream part a stored blob holds: the job, its position and its URL and name, hashed."""
    text = f"{job.job_id}\n{index}\n{part.url}\n{part.name or ''}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _warn_refused(target: str, stream: ContentStream) -> None:
    if stream.refused_content_type is not None:
        log.warning(
            "target %s: the upstream's Content-Type is not a media type (%s); stored as %s",
            target,
            stream.refused_content_type,
            stream.content_type,
        )


def _committed_parts(container: ContainerClient, target: str, job_id: str) -> set[str]:
    """The part blobs an earlier attempt committed for this job (each is then checked before it is reused)."""
    return {blob.name for blob in container.list_blobs(name_starts_with=f"{export_prefix(target, job_id)}part-")}


def store_result(
    container: ContainerClient,
    connector: ExportConnector,
    job: JobStatus,
    *,
    target: str,
    connector_name: str,
    instance_id: str,
) -> StoredResult:
    """Every part of `job`'s result committed under the export's prefix, in order."""
    metadata = {"target": target, "connector": connector_name}
    attempt_id = f"{instance_id}:{job.job_id}"
    if not connector.result_layout(job).multi_part:
        for index, (_, stream) in enumerate(connector.iter_result(job), start=1):
            if index > 1:
                raise UpstreamError(ErrorKind.PERMANENT, "the result has more than the one file its connector says")
            _warn_refused(target, stream)
            written = write_stream(
                container,
                content_blob_name(target, job.job_id, stream.content_type),
                stream.iter_bytes(),
                content_type=stream.content_type,
                attempt_id=attempt_id,
                expected_length=stream.content_length,
                metadata=metadata,
            )
            return StoredResult(blob=written, parts=[], refused_content_type=stream.refused_content_type)
        raise UpstreamError(ErrorKind.TRANSIENT, "the finished job's result had no content")
    parts: list[StoredPart] = []
    reused = 0
    earlier = _committed_parts(container, target, job.job_id)  # one listing, not a look-up per part
    for index, (part, stream) in enumerate(connector.iter_result(job), start=1):
        if index > MAX_PARTS:
            raise UpstreamError(ErrorKind.PERMANENT, f"the result has more than {MAX_PARTS} parts; refused")
        _warn_refused(target, stream)
        name = part_blob_name(target, job.job_id, index, stream.content_type)
        source = _source(job, index, part)
        found = existing_blob(container, name, require={"source": source}) if name in earlier else None
        if found is not None:
            for _ in stream.iter_bytes():  # read past it: a zip's next member starts where this one ends
                pass
            reused += 1
        else:
            found = write_stream(
                container,
                name,
                stream.iter_bytes(),
                content_type=stream.content_type,
                attempt_id=f"{attempt_id}:{index}",
                expected_length=stream.content_length,
                metadata={**metadata, "source": source},
            )
        parts.append(
            StoredPart(**found.model_dump(), upstream_name=part.name, refused_content_type=stream.refused_content_type)
        )
    return StoredResult(blob=None, parts=parts, refused_content_type=None, reused_parts=reused)
