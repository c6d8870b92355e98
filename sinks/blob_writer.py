"""Stream bytes into a block blob that becomes visible only when it is complete.

Chunks are gathered into blocks of `block_size` and staged as they fill, so
memory stays at about one block whatever the size; sha256 and size are
computed on the way. Only `commit_block_list` makes the blob exist (or
replaces the previous version in one step), so a reader never sees a partial
blob, and a failure or a short body commits nothing.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobBlock, ContainerClient, ContentSettings

DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024


class IncompleteDownloadError(Exception):
    """The body ended with fewer (or more) bytes than the server announced; nothing was committed."""


@dataclass(frozen=True)
class WrittenBlob:
    container: str
    name: str
    url: str
    size: int
    sha256: str
    content_type: str
    etag: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _block_id(attempt_id: str, index: int) -> str:
    # Same length for every block of a blob, as the service requires; the attempt part keeps
    # blocks of an abandoned attempt from mixing with this one's.
    tag = hashlib.sha256(attempt_id.encode()).hexdigest()[:16]
    return base64.b64encode(f"{tag}-{index:08d}".encode()).decode()


def write_stream(
    container: ContainerClient,
    blob_name: str,
    chunks: Iterable[bytes],
    *,
    content_type: str,
    attempt_id: str,
    expected_length: int | None = None,
    metadata: dict[str, str] | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    on_progress: Callable[[int], None] | None = None,
) -> WrittenBlob:
    blob = container.get_blob_client(blob_name)
    digest = hashlib.sha256()
    buffer = bytearray()
    blocks: list[BlobBlock] = []
    size = 0

    def stage() -> None:
        block_id = _block_id(attempt_id, len(blocks))
        blob.stage_block(block_id, bytes(buffer))
        blocks.append(BlobBlock(block_id=block_id))
        buffer.clear()
        if on_progress is not None:
            on_progress(size)

    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        buffer += chunk
        while len(buffer) >= block_size:
            rest = bytes(buffer[block_size:])
            del buffer[block_size:]
            stage()
            buffer += rest
    if expected_length is not None and size != expected_length:
        raise IncompleteDownloadError(f"received {size} bytes but the server announced {expected_length}")
    if buffer or not blocks:
        stage()
    sha = digest.hexdigest()
    result = blob.commit_block_list(
        blocks,
        content_settings=ContentSettings(content_type=content_type),
        metadata={**(metadata or {}), "sha256": sha, "size": str(size)},
    )
    return WrittenBlob(container.container_name, blob_name, blob.url, size, sha, content_type, str(result["etag"]))


def existing_blob(container: ContainerClient, blob_name: str) -> WrittenBlob | None:
    """The committed blob's identity from its properties, or None if there is none."""
    try:
        props = container.get_blob_client(blob_name).get_blob_properties()
    except ResourceNotFoundError:
        return None
    meta = props.metadata or {}
    if "sha256" not in meta:
        return None
    blob = container.get_blob_client(blob_name)
    content_type = props.content_settings.content_type or "application/octet-stream"
    return WrittenBlob(
        container.container_name, blob_name, blob.url, int(props.size), meta["sha256"], content_type, str(props.etag)
    )
