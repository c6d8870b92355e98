"""The blob writer against Azurite: complete or nothing, sha256 on the way, blocks pipelined with MD5, flat memory."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient
from hypothesis import given
from hypothesis import strategies as st

from local.azurite import Azurite
from sinks.blob_writer import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_BLOCKS_IN_FLIGHT,
    IncompleteDownloadError,
    _Blocks,
    existing_blob,
    write_stream,
)
from tests.support.memory import peak_rss

pytestmark = pytest.mark.integration


@pytest.fixture
def container(azurite: Azurite) -> ContainerClient:
    client = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(
        f"w{uuid.uuid4().hex}"
    )
    client.create_container()
    return client


def chunks(total: int, seed: int = 1) -> Iterator[bytes]:
    sizes = [1, 4095, 65536, 1_000_003, 7]
    sent, i = 0, 0
    while sent < total:
        size = min(sizes[i % len(sizes)], total - sent)
        yield hashlib.sha256(f"{seed}:{i}".encode()).digest() * (size // 32) + b"x" * (size % 32)
        sent, i = sent + size, i + 1


def test_streamed_blob_is_byte_identical_and_invisible_until_committed(container: ContainerClient) -> None:
    total = 24 * 1024 * 1024 + 5
    seen_mid_way: list[bool] = []

    def watched() -> Iterator[bytes]:
        for n, chunk in enumerate(chunks(total)):
            if n == 40:
                seen_mid_way.append(container.get_blob_client("out.bin").exists())
            yield chunk

    written = write_stream(
        container, "out.bin", watched(), content_type="text/csv", attempt_id="a", block_size=4 * 1024 * 1024
    )
    expected = hashlib.sha256(b"".join(chunks(total))).hexdigest()
    assert seen_mid_way == [False]
    assert (written.size, written.sha256) == (total, expected)
    assert hashlib.sha256(container.download_blob("out.bin").readall()).hexdigest() == expected
    props = container.get_blob_client("out.bin").get_blob_properties()
    assert props.content_settings.content_type == "text/csv"
    assert props.metadata["sha256"] == expected
    assert existing_blob(container, "out.bin") == written


def test_a_failing_source_leaves_no_blob(container: ContainerClient) -> None:
    def broken() -> Iterator[bytes]:
        yield b"a" * 5_000_000
        raise ConnectionError("upstream went away")

    with pytest.raises(ConnectionError):
        write_stream(container, "broken.bin", broken(), content_type="text/csv", attempt_id="a", block_size=1 << 20)
    assert not container.get_blob_client("broken.bin").exists()
    assert stage_threads() == []


def test_a_short_body_commits_nothing(container: ContainerClient) -> None:
    with pytest.raises(IncompleteDownloadError, match="received 10 bytes but the server announced 11"):
        write_stream(
            container, "short.bin", iter([b"0123456789"]), content_type="x", attempt_id="a", expected_length=11
        )
    assert not container.get_blob_client("short.bin").exists()


def test_rewriting_the_same_name_replaces_the_blob_whole(container: ContainerClient) -> None:
    write_stream(container, "same.bin", chunks(3_000_000, seed=1), content_type="x", attempt_id="1", block_size=1 << 20)
    second = write_stream(container, "same.bin", iter([b"short"]), content_type="x", attempt_id="2")
    assert container.download_blob("same.bin").readall() == b"short"
    assert second.size == 5
    assert len(container.get_blob_client("same.bin").get_block_list("committed")[0]) == 1


def test_an_empty_export_is_an_empty_blob(container: ContainerClient) -> None:
    written = write_stream(container, "empty.csv", iter([]), content_type="text/csv", attempt_id="a")
    assert written.size == 0
    assert container.download_blob("empty.csv").readall() == b""


@pytest.mark.slow
def test_half_a_gigabyte_is_written_with_flat_memory(container: ContainerClient) -> None:
    block = os.urandom(1024 * 1024)
    with peak_rss() as memory:
        written = write_stream(container, "big.bin", (block for _ in range(512)), content_type="x", attempt_id="a")
    assert written.size == 512 * 1024 * 1024
    bound_mib = (DEFAULT_BLOCKS_IN_FLIGHT + 1) * DEFAULT_BLOCK_SIZE / 2**20 + 24  # blocks held, plus the SDK's own
    assert memory.growth_mib < bound_mib, f"peak RSS grew by {memory.growth_mib:.1f} MiB"


class PutBlockWatch:
    """Request/response hooks on the real client: Put Block requests in flight at once, and what each carried."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.sent: list[tuple[str | None, bytes]] = []
        self._lock = threading.Lock()

    @staticmethod
    def _is_put_block(request: Any) -> bool:
        return "comp=block&" in request.http_request.url + "&"

    def on_request(self, request: Any) -> None:
        if self._is_put_block(request):
            with self._lock:
                self.now += 1
                self.peak = max(self.peak, self.now)
                self.sent.append((request.http_request.headers.get("Content-MD5"), bytes(request.http_request.body)))

    def on_response(self, response: Any) -> None:
        if self._is_put_block(response):
            with self._lock:
                self.now -= 1


def watched_container(azurite: Azurite, watch: PutBlockWatch) -> ContainerClient:
    service = BlobServiceClient.from_connection_string(
        azurite.connection_string, raw_request_hook=watch.on_request, raw_response_hook=watch.on_response
    )
    client = service.get_container_client(f"w{uuid.uuid4().hex}")
    client.create_container()
    return client


def stage_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("stage-block")]


def test_blocks_are_staged_while_the_next_downloads_never_more_than_in_flight(azurite: Azurite) -> None:
    watch = PutBlockWatch()
    container = watched_container(azurite, watch)
    total = 24 * (1 << 20) + 3
    written = write_stream(
        container, "p.bin", chunks(total), content_type="x", attempt_id="a", block_size=1 << 20, blocks_in_flight=3
    )
    assert written.size == total
    assert len(watch.sent) == 25
    assert 1 < watch.peak <= 3


def test_every_block_carries_the_content_md5_of_its_bytes(azurite: Azurite) -> None:
    watch = PutBlockWatch()
    container = watched_container(azurite, watch)
    write_stream(container, "m.bin", chunks(3 * (1 << 20) + 9), content_type="x", attempt_id="a", block_size=1 << 20)
    assert len(watch.sent) == 4
    for md5, body in watch.sent:
        assert md5 == base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 - the service's check


def test_a_refused_block_stops_the_download_commits_nothing_and_leaves_no_thread(azurite: Azurite) -> None:
    container = watched_container(azurite, PutBlockWatch())
    read = 0

    def source() -> Iterator[bytes]:
        nonlocal read
        for n in range(200):
            if n == 3:  # staging now fails for real: the service answers 404 ContainerNotFound
                container.delete_container()
            read += 1
            yield bytes([n % 251]) * (1 << 20)

    with pytest.raises(ResourceNotFoundError):
        write_stream(container, "r.bin", source(), content_type="x", attempt_id="a", block_size=1 << 20)
    assert read < 200  # it stopped reading the body instead of downloading the rest for nothing
    assert stage_threads() == []
    container.create_container()
    assert not container.get_blob_client("r.bin").exists()


@given(st.lists(st.binary(max_size=40), max_size=30), st.integers(min_value=1, max_value=16))
def test_blocks_are_cut_at_exactly_the_block_size_and_keep_every_byte_in_order(
    pieces: list[bytes], block_size: int
) -> None:
    cutter = _Blocks(block_size)
    blocks = [block for piece in pieces for block in cutter.add(piece)]
    rest = cutter.rest()
    assert all(len(block) == block_size for block in blocks)
    assert len(rest) < block_size
    assert b"".join([*blocks, rest]) == b"".join(pieces)
    assert (cutter.held, cutter.rest()) == (0, b"")
