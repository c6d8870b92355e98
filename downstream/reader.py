"""Read a finished export without holding it in memory, and prove it is the one the manifest describes.

`open_export` streams the blob and checks its sha256 against the manifest when
the stream ends, so a consumer that reads to the end has read exactly what the
pipeline wrote. `iter_records` yields CSV rows (Viva Goals) or SP-Config
objects (SailPoint) one at a time.
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

from sinks.manifest import ExportManifest, read_latest, read_manifest


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


def open_export(container: ContainerClient, manifest: ExportManifest) -> io.BufferedReader:
    chunks = container.download_blob(manifest.blob.name).chunks()
    return io.BufferedReader(VerifyingStream(iter(chunks), manifest.blob.sha256, manifest.blob.size), 1024 * 1024)


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


def iter_records(container: ContainerClient, manifest: ExportManifest) -> Iterator[dict[str, Any]]:
    """CSV rows as dicts, or SP-Config objects, streamed and checksum-verified."""
    stream = open_export(container, manifest)
    if manifest.blob.content_type == "text/csv":
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        yield from csv.DictReader(text)
        text.detach()  # keep `stream` open: a collected wrapper would close it
    elif manifest.blob.content_type == "application/json":
        yield from ijson.items(stream, "objects.item")
    else:
        raise ValueError(f"no record reader for {manifest.blob.content_type}")
    stream.read()  # drain, so the checksum is verified even if the format ended early
