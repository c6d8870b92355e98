"""The manifest written next to each export, and the per-target `latest.json` that points at the newest.

Downstream teams read `latest.json` (or the manifest an event names) instead of
listing blobs. `latest.json` is replaced with ETag conditions so two runs
finishing together never lose an update, and an older export never replaces a
newer one. "Newer" means the upstream snapshot's creation time, compared as a
moment (never as text): two runs may commit their copies in either order.
The upstream's clock is not trusted beyond that: a creation time later than
the manifest's own commit plus the clock-skew bound (year 9999) is read as
unknown, and when either side has no usable creation time the two are
ordered by commit time alone (a commit time is never weighed against an
upstream time).
A `latest.json` we cannot read (hand-edited, another tool's schema) is treated
as absent and replaced, under the ETag it had, rather than failing every later
download of the target; one written by a release this one does not read
(`versioned`) is left alone and refused, so a rollback never overwrites it.
A per-job manifest that cannot be read is refused with what was wrong with it
(`ContractError`, permanent): it decides whether a job is already stored, so
guessing would store a job twice or never.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings
from pydantic import BaseModel, ConfigDict, ValidationError

from kernel.errors import ContractError, ErrorKind
from kernel.redaction import clip
from kernel.results import CleanupOutcome, RecordFormat
from kernel.timestamps import not_after, parse_timestamp
from sinks.blob_names import export_prefix, latest_blob_name, manifest_blob_name
from sinks.blob_ref import BlobRef
from versioned import UnsupportedVersion, Versioned

JSON = ContentSettings(content_type="application/json")
LATEST_ATTEMPTS = 8


class StoredPart(BlobRef):
    """One committed part of a multi-part result, with what the upstream called it and a refused Content-Type."""

    upstream_name: str | None = None  # the file, page or zip member name the upstream gave (redacted, cut)
    refused_content_type: str | None = None


class RecordsFormat(BaseModel):
    """How the stored bytes read as records: CSV rows, the items of a JSON array at a path, or NDJSON lines."""

    model_config = ConfigDict(frozen=True)

    format: RecordFormat
    path: str | None = None  # JMESPath-like dotted path of the array (json_array_at_path)


class ExportManifest(Versioned):
    """A manifest (and `latest.json`).

    Version 2 (multi-part results) adds `parts`, `records`, `no_data`, `upstream_state` and `cleanup`, and lets
    `blob` be absent: a single-file result keeps version 1's shape (`blob`, no `parts`); a result of several parts
    lists them in order in `parts` (no `blob`); a job with no data has neither. Version 1 reads unchanged.
    """

    model_config = ConfigDict(frozen=True)
    SCHEMA_VERSION = 2

    target: str
    connector: str
    job_id: str
    instance_id: str
    blob: BlobRef | None = None
    parts: list[StoredPart] = []
    records: RecordsFormat | None = None  # None: read by the content type (every version 1 manifest)
    no_data: bool = False  # the upstream said the job had nothing to export: no blob, no parts
    upstream_state: str | None = None  # the job's state when stored: succeeded, succeededWithWarnings, noData
    cleanup: CleanupOutcome | None = None  # the upstream cleanup after the store, where the connector has one
    created_at: str | None  # the upstream job's creation
    completed_at: str  # when our copy was committed
    upstream_expires_at: str | None
    # The upstream's Content-Type when it was not a usable media type (redacted, cut): the blob then says
    # application/octet-stream. None when the upstream's own value was used.
    refused_content_type: str | None = None

    def to_json(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), indent=2).encode()

    def stored_parts(self) -> list[StoredPart]:
        """Every stored blob in order: the parts, or the one blob (with the manifest's refused type), or none."""
        if self.parts:
            return list(self.parts)
        if self.blob is None:
            return []
        return [StoredPart(**self.blob.model_dump(), refused_content_type=self.refused_content_type)]

    def total_size(self) -> int:
        return sum(part.size for part in self.stored_parts())

    def committed(self) -> datetime:
        """When our copy was committed; an unreadable time sorts first."""
        return parse_timestamp(self.completed_at) or datetime.min.replace(tzinfo=UTC)

    def upstream_created(self) -> datetime | None:
        """The upstream snapshot's creation, unless unreadable or later than our commit plus the skew bound."""
        committed = parse_timestamp(self.completed_at)
        return None if committed is None else parse_timestamp(not_after(self.created_at, committed))

    def is_newer_than(self, other: ExportManifest) -> bool:
        """What "newer" means: both upstream creations when both are usable and differ, else our commits."""
        mine, theirs = self.upstream_created(), other.upstream_created()
        if mine is not None and theirs is not None and mine != theirs:
            return mine > theirs
        return self.committed() > other.committed()


def write_manifest(container: ContainerClient, manifest: ExportManifest) -> str:
    name = manifest_blob_name(manifest.target, manifest.job_id)
    container.upload_blob(name, manifest.to_json(), overwrite=True, content_settings=JSON)
    return name


def read_manifest(container: ContainerClient, name: str) -> ExportManifest | None:
    try:
        data = container.download_blob(name).readall()
    except ResourceNotFoundError:
        return None
    try:
        return ExportManifest.model_validate_json(data)
    except (ValidationError, UnsupportedVersion) as exc:
        raise ContractError(
            ErrorKind.PERMANENT,
            f"manifest {name} cannot be read ({_why(exc)}); it decides whether that job is stored already, so "
            "nothing is guessed: move it aside (the next run stores the job again) or restore it",
        ) from None


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return clip(f"{'.'.join(map(str, first['loc'])) or 'value'}: {first['msg']}", 300)
    return clip(str(exc), 300)


def stored_part_count(container: ContainerClient, target: str, job_id: str) -> int:
    """How many parts of a multi-part export are committed so far (what the status shows while it downloads)."""
    prefix = f"{export_prefix(target, job_id)}part-"
    return sum(1 for _ in container.list_blobs(name_starts_with=prefix))


def remove_unlisted_parts(container: ContainerClient, target: str, job_id: str) -> int:
    """Delete the parts an abandoned job left committed (its download failed part way and the job was given up:
    re-created or the export failed); none when a manifest lists them. How many were deleted."""
    if container.get_blob_client(manifest_blob_name(target, job_id)).exists():
        return 0
    removed = 0
    for blob in container.list_blobs(name_starts_with=f"{export_prefix(target, job_id)}part-"):
        with contextlib.suppress(ResourceNotFoundError):
            container.delete_blob(blob.name)
            removed += 1
    return removed


def read_latest(container: ContainerClient, target: str) -> ExportManifest | None:
    return read_manifest(container, latest_blob_name(target))


def _readable(data: bytes, name: str) -> ExportManifest | None:
    try:
        return ExportManifest.model_validate_json(data)
    except ValidationError:  # foreign schema, hand edit, not JSON at all
        return None
    except UnsupportedVersion as exc:  # another release's: never overwrite it with a shape it may not read
        raise ContractError(ErrorKind.PERMANENT, f"{name} is left as it is: {exc}") from None


def record_cleanup(container: ContainerClient, manifest: ExportManifest, cleanup: CleanupOutcome) -> ExportManifest:
    """The manifest again with what the upstream cleanup did; `latest.json` too while it still names this job."""
    updated = manifest.model_copy(update={"cleanup": cleanup})
    write_manifest(container, updated)
    blob = container.get_blob_client(latest_blob_name(manifest.target))
    try:
        current = blob.download_blob()
    except ResourceNotFoundError:
        return updated
    existing = _readable(current.readall(), blob.blob_name)
    if existing is not None and existing.job_id == manifest.job_id and existing.instance_id == manifest.instance_id:
        # A newer export that moved latest.json meanwhile makes it no longer this job's to annotate.
        with contextlib.suppress(ResourceModifiedError):
            blob.upload_blob(
                updated.to_json(),
                overwrite=True,
                content_settings=JSON,
                etag=current.properties.etag,
                match_condition=MatchConditions.IfNotModified,
            )
    return updated


def update_latest(container: ContainerClient, manifest: ExportManifest) -> bool:
    """Point `latest.json` at `manifest` unless a newer export is already there. True if it was written."""
    blob = container.get_blob_client(latest_blob_name(manifest.target))
    for _ in range(LATEST_ATTEMPTS):
        try:
            current = blob.download_blob()
        except ResourceNotFoundError:
            try:
                # overwrite=False sends If-None-Match: * (only if it still does not exist)
                blob.upload_blob(manifest.to_json(), overwrite=False, content_settings=JSON)
                return True
            except ResourceExistsError:
                continue
        existing = _readable(current.readall(), blob.blob_name)
        if existing is not None and existing.is_newer_than(manifest):
            return False
        try:
            blob.upload_blob(
                manifest.to_json(),
                overwrite=True,
                content_settings=JSON,
                etag=current.properties.etag,
                match_condition=MatchConditions.IfNotModified,
            )
            return True
        except ResourceModifiedError:
            continue
    raise ResourceModifiedError(
        f"latest.json of {manifest.target} kept changing; gave up after {LATEST_ATTEMPTS} attempts"
    )
