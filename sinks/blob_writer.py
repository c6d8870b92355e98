"""Stream bytes into a block blob that becomes visible only when it is complete.

Chunks are gathered into blocks of `block_size`; a full block is staged on a
worker thread while the next one downloads, with at most `blocks_in_flight`
blocks on the wire, so memory is bounded by (in flight + 1) blocks whatever
the size, and the download never waits for one block's round trip. sha256 and
size are computed on the way: the sha256 of each block on a thread of its own
(hashlib releases the GIL), in block order and at most one block behind, which
took it off the download's thread, where it was a seventh of the time. Only `commit_block_list` makes the blob exist
(or replaces the previous version in one step), so a reader never sees a
partial blob, and a failure, a refused block or a short body commits nothing.

Each block carries a Content-MD5 rather than a CRC64: both are checked by
Azure and Azurite, but without a client MD5 Azurite computes a CRC64 of every
block in JavaScript, which measured 40-54 MiB/s against 145-202 MiB/s with MD5
on this stack; Python's MD5 runs in C and releases the GIL on the workers.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobClient, ContainerClient, ContentSettings

from sinks.blob_ref import BlobRef

# Chosen by measurement (`python -m benchmarks --only streaming`): see docs/benchmarks.md, Streaming.
DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024
DEFAULT_BLOCKS_IN_FLIGHT = 4


class IncompleteDownloadError(Exception):
    """The body ended with fewer (or more) bytes than the server announced; nothing was committed."""


def _block_id(attempt_id: str, index: int) -> str:
    # Same length for every block of a blob, as the service requires; the attempt part keeps
    # blocks of an abandoned attempt from mixing with this one's.
    tag = hashlib.sha256(attempt_id.encode()).hexdigest()[:16]
    return base64.b64encode(f"{tag}-{index:08d}".encode()).decode()


class _Stager:
    """Stages blocks on `in_flight` threads; a block waits for a free slot, so at most `in_flight` are held.

    Each Put Block carries a Content-MD5 that the service (and Azurite) checks, so a block corrupted on the
    way is refused rather than committed. The first failure stops further staging: `submit` raises it, and
    `close` waits for the blocks already on the wire, so no thread outlives the write.
    """

    def __init__(self, blob: BlobClient, in_flight: int) -> None:
        self._blob = blob
        self._slots = threading.Semaphore(in_flight)
        self._pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="stage-block")
        self._futures: list[Future[dict[str, Any]]] = []
        self._error: BaseException | None = None

    def slot(self) -> None:
        """Wait until fewer than `in_flight` blocks are held; raise a failure of an earlier block."""
        self._slots.acquire()
        if self._error is not None:
            self._slots.release()
            raise self._error

    def submit(self, block_id: str, data: bytes) -> None:
        """Stage `data` in the background; the caller took a `slot()` for it."""
        future = self._pool.submit(self._blob.stage_block, block_id, data, validate_content="md5")
        future.add_done_callback(self._done)
        self._futures.append(future)

    def _done(self, future: Future[dict[str, Any]]) -> None:
        if not future.cancelled() and future.exception() is not None and self._error is None:
            self._error = future.exception()
        self._slots.release()

    def finish(self) -> None:
        """Every staged block has landed, or the first failure is raised."""
        for future in self._futures:
            future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Hasher:
    """sha256 of the blocks in order, on one thread; a block is hashed before the next block is cut."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
        self._pending: Future[None] | None = None

    def wait(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def update(self, data: bytes) -> None:
        self.wait()
        self._pending = self._pool.submit(self._digest.update, data)

    def hexdigest(self) -> str:
        self.wait()
        return self._digest.hexdigest()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Blocks:
    """Cuts a stream of chunks into blocks of `size` bytes, copying each byte once.

    A chunk is held as a view until its block is full, then the block is joined from its pieces in one
    copy (gathering into a growing buffer and slicing it cost two more copies of every byte).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._pieces: list[memoryview] = []
        self._held = 0

    def add(self, chunk: bytes) -> Iterator[bytes]:
        """The blocks `chunk` completes (usually none); the rest of it is held for the next."""
        view = memoryview(chunk)
        while self._held + len(view) >= self._size:
            take = self._size - self._held
            self._pieces.append(view[:take])
            view = view[take:]
            yield self.rest()
        if view:
            self._pieces.append(view)
            self._held += len(view)

    @property
    def held(self) -> int:
        return self._held

    def rest(self) -> bytes:
        """What is held, as one block, and nothing held afterwards."""
        block = b"".join(self._pieces)
        self._pieces, self._held = [], 0
        return block


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
    blocks_in_flight: int = DEFAULT_BLOCKS_IN_FLIGHT,
) -> BlobRef:
    """Stream `chunks` into `blob_name`: blocks are staged while the next one downloads, then committed once.

    Memory holds at most `blocks_in_flight` blocks being staged plus the one being filled.
    """
    blob = container.get_blob_client(blob_name)
    hasher = _Hasher()
    blocks = _Blocks(block_size)
    block_ids: list[str] = []
    size = 0
    stager = _Stager(blob, blocks_in_flight)

    def stage(block: bytes) -> None:
        hasher.wait()  # the previous block is hashed before this one is staged: one block behind at most
        stager.slot()
        block_ids.append(_block_id(attempt_id, len(block_ids)))
        hasher.update(block)
        stager.submit(block_ids[-1], block)

    try:
        for chunk in chunks:
            size += len(chunk)
            for block in blocks.add(chunk):
                stage(block)
        if expected_length is not None and size != expected_length:
            raise IncompleteDownloadError(f"received {size} bytes but the server announced {expected_length}")
        if blocks.held or not block_ids:
            stage(blocks.rest())
        stager.finish()
        sha = hasher.hexdigest()
    finally:
        stager.close()
        hasher.close()
    blob.commit_block_list(
        [BlobBlock(block_id=block_id) for block_id in block_ids],
        content_settings=ContentSettings(content_type=content_type),
        metadata={**(metadata or {}), "sha256": sha, "size": str(size)},
    )
    return BlobRef(
        container=container.container_name,
        name=blob_name,
        url=blob.url,
        size=size,
        sha256=sha,
        content_type=content_type,
    )


def existing_blob(container: ContainerClient, blob_name: str, require: dict[str, str] | None = None) -> BlobRef | None:
    """The committed blob's identity from its properties, or None if there is none (or its metadata lacks one
    of the `require`d values: a blob another job or part left under that name)."""
    try:
        props = container.get_blob_client(blob_name).get_blob_properties()
    except ResourceNotFoundError:
        return None
    meta = props.metadata or {}
    if "sha256" not in meta or any(meta.get(key) != value for key, value in (require or {}).items()):
        return None
    blob = container.get_blob_client(blob_name)
    content_type = props.content_settings.content_type or "application/octet-stream"
    return BlobRef(
        container=container.container_name,
        name=blob_name,
        url=blob.url,
        size=int(props.size),
        sha256=meta["sha256"],
        content_type=content_type,
    )
