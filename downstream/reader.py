"""Read a finished export without holding it in memory, and prove it is the one the manifest describes.

`open_export` streams the blob and checks its sha256 against the manifest when
the stream ends, so a consumer that reads to the end has read exactly what the
pipeline wrote. `iter_records` yields the records of every part in order, one
at a time, read as the manifest says (CSV, a JSON array at a path, NDJSON).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from typing import Any

import ijson
from azure.storage.blob import ContainerClient

from sinks.blob_ref import BlobRef
from sinks.manifest import ExportManifest, RecordsFormat, read_latest, read_manifest


class ChecksumMismatch(Exception):
    """The blob's bytes do not match the manifest's sha256 (or size)."""


class VerifyingStream(io.RawIOBase):
    """A readable stream over a blob's chunks that checks size and sha256 at the end."""

    def __init__(self, chunks: Iterator[bytes], expected_sha256: str, expected_size: int) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._digest = hashlib.sha256()
        self._size = 0
        self._expected = (expected_sha256, expected_size)
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer and not self._done:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                self._finish()
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._digest.update(self._buffer[:count])
        self._size += count
        self._buffer = self._buffer[count:]
        return count

    def _finish(self) -> None:
        self._done = True
        actual = (self._digest.hexdigest(), self._size)
        if actual != self._expected:
            raise ChecksumMismatch(f"blob has sha256 {actual[0]} and {actual[1]} bytes; manifest says {self._expected}")


def open_part(container: ContainerClient, part: BlobRef) -> io.BufferedReader:
    """One stored blob, streamed and checked against the sha256 and size its manifest names."""
    chunks = container.download_blob(part.name).chunks()
    return io.BufferedReader(VerifyingStream(iter(chunks), part.sha256, part.size), 1024 * 1024)


def open_export(container: ContainerClient, manifest: ExportManifest) -> io.BufferedReader:
    """The one blob of a single-file export (see `iter_parts` for every part of any export)."""
    parts = manifest.stored_parts()
    if len(parts) != 1:
        raise ValueError(f"export {manifest.job_id} has {len(parts)} parts, not one: read it with iter_parts")
    return open_part(container, parts[0])


def iter_parts(container: ContainerClient, manifest: ExportManifest) -> Iterator[io.BufferedReader]:
    """Every stored part in order, each opened only when the one before has been handed out."""
    for part in manifest.stored_parts():
        yield open_part(container, part)


def manifest_for_event(container: ContainerClient, event: dict[str, Any] | str) -> ExportManifest:
    """The manifest a succeeded export event points at."""
    data = (json.loads(event) if isinstance(event, str) else event).get("data") or {}
    if data.get("status") != "succeeded" or not data.get("manifest"):
        raise ValueError("the event is not a succeeded export: it names no manifest")
    manifest = read_manifest(container, data["manifest"])
    if manifest is None:
        raise LookupError(f"manifest {data['manifest']} is not in container {container.container_name}")
    return manifest


def latest_manifest(container: ContainerClient, target: str) -> ExportManifest:
    manifest = read_latest(container, target)
    if manifest is None:
        raise LookupError(f"target {target} has no successful export yet")
    return manifest


def record_format(manifest: ExportManifest) -> RecordsFormat:
    """How the manifest says its records read; a version 1 manifest (which does not say) by its content type:
    CSV rows, or the SP-Config layout every JSON export of that release had (`objects` holds the records)."""
    if manifest.records is not None:
        return manifest.records
    parts = manifest.stored_parts()
    content_type = parts[0].content_type if parts else ""
    if content_type == "text/csv":
        return RecordsFormat(format="csv")
    if content_type == "application/json":
        return RecordsFormat(format="json_array_at_path", path="objects")
    raise ValueError(f"no record reader for {content_type or 'an export without parts'}")


def iter_records(container: ContainerClient, manifest: ExportManifest) -> Iterator[dict[str, Any]]:
    """Every record of every part in order (CSV rows as dicts, the items of a JSON array, NDJSON lines), streamed
    and checksum-verified; the format is the manifest's, so the reader knows nothing of connectors."""
    if not manifest.stored_parts():
        return
    records = record_format(manifest)
    for stream in iter_parts(container, manifest):
        yield from _records_of(stream, records)
        stream.read()  # drain, so the checksum is verified even if the format ended early


def _records_of(stream: io.BufferedReader, records: RecordsFormat) -> Iterator[dict[str, Any]]:
    if records.format == "csv":
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        yield from csv.DictReader(text)
        text.detach()  # keep `stream` open: a collected wrapper would close it
    elif records.format == "json_array_at_path":
        prefix = f"{records.path}.item" if records.path and records.path != "@" else "item"
        yield from ijson.items(stream, prefix)
    else:
        for line in stream:
            if line.strip():
                yield json.loads(line)
