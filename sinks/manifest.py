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

import json
from datetime import UTC, datetime

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings
from pydantic import ConfigDict, ValidationError

from kernel.errors import ContractError, ErrorKind
from kernel.redaction import clip
from kernel.timestamps import not_after, parse_timestamp
from sinks.blob_names import latest_blob_name, manifest_blob_name
from sinks.blob_ref import BlobRef
from versioned import UnsupportedVersion, Versioned

JSON = ContentSettings(content_type="application/json")
LATEST_ATTEMPTS = 8


class ExportManifest(Versioned):
    """A manifest (and `latest.json`): versioned since the first release, so today's shape is still version 1."""

    model_config = ConfigDict(frozen=True)
    SCHEMA_VERSION = 1

    target: str
    connector: str
    job_id: str
    instance_id: str
    blob: BlobRef
    created_at: str | None  # the upstream job's creation
    completed_at: str  # when our copy was committed
    upstream_expires_at: str | None
    # The upstream's Content-Type when it was not a usable media type (redacted, cut): the blob then says
    # application/octet-stream. None when the upstream's own value was used.
    refused_content_type: str | None = None

    def to_json(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), indent=2).encode()

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


def read_latest(container: ContainerClient, target: str) -> ExportManifest | None:
    return read_manifest(container, latest_blob_name(target))


def _readable(data: bytes, name: str) -> ExportManifest | None:
    try:
        return ExportManifest.model_validate_json(data)
    except ValidationError:  # foreign schema, hand edit, not JSON at all
        return None
    except UnsupportedVersion as exc:  # another release's: never overwrite it with a shape it may not read
        raise ContractError(ErrorKind.PERMANENT, f"{name} is left as it is: {exc}") from None


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
