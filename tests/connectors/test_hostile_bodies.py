"""Bodies a hostile upstream sends: bombs are never inflated whole, and cut or unframed bodies never succeed."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from connectors.base import JobState, JobStatus
from kernel.errors import ErrorKind, UpstreamError
from tests.connectors.hostile import viva
from tests.support.hostile_upstream import (
    Reply,
    Request,
    Scenario,
    graph_job,
    gzip_of_zeros,
    hostile_upstream,
    zeros,
)
from tests.support.memory import peak_rss

MIB = 2**20
BOMB = 128 * MIB  # what the body inflates to; the old client held all of it (and a copy) at once
FLAT_MIB = 64  # generous: interpreter noise, never a bomb's worth


def encoded(body: bytes, *, status: int = 200, coding: str = "gzip") -> Scenario:
    """Every request answered with `body` as it is, declared as `coding`, with its exact length."""

    def scenario(request: Request, reply: Reply) -> None:
        reply.head(status, {"Content-Encoding": coding, "Content-Length": str(len(body))})
        reply.write(body)

    return scenario


def succeeded(url: str) -> JobStatus:
    return JobStatus("job-1", JobState.SUCCEEDED, "succeeded", download_url=url)


def test_a_gzip_bomb_as_a_status_body_is_refused_with_flat_memory() -> None:
    bomb = gzip_of_zeros(BOMB)
    with hostile_upstream(encoded(bomb)) as upstream, peak_rss() as memory, pytest.raises(UpstreamError) as caught:
        viva(upstream).get_job("job-1")
    assert caught.value.kind is ErrorKind.PERMANENT
    assert "over 1048576 bytes" in caught.value.message
    assert memory.growth_mib < FLAT_MIB, f"peak RSS grew by {memory.growth_mib:.1f} MiB"


def test_a_huge_503_body_is_read_only_up_to_an_error_envelope_with_flat_memory() -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.head(503, {"Content-Type": "application/json", "Content-Length": str(BOMB)})
        for chunk in zeros(BOMB):
            reply.write(chunk)

    with hostile_upstream(scenario) as upstream, peak_rss() as memory, pytest.raises(UpstreamError) as caught:
        viva(upstream).get_job("job-1")
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.status_code == 503
    assert memory.growth_mib < FLAT_MIB, f"peak RSS grew by {memory.growth_mib:.1f} MiB"


def test_a_gzip_bomb_as_an_error_body_is_cut_at_the_envelope_limit_with_flat_memory() -> None:
    bomb = gzip_of_zeros(BOMB)
    with (
        hostile_upstream(encoded(bomb, status=400)) as upstream,
        peak_rss() as memory,
        pytest.raises(UpstreamError) as caught,
    ):
        viva(upstream).get_job("job-1")
    assert caught.value.kind is ErrorKind.PERMANENT
    assert memory.growth_mib < FLAT_MIB, f"peak RSS grew by {memory.growth_mib:.1f} MiB"


def test_a_stacked_gzip_download_is_refused_before_anything_is_inflated() -> None:
    bomb = gzip_of_zeros(BOMB, layers=2)  # a few KB on the wire
    with hostile_upstream(encoded(bomb, coding="gzip, gzip")) as upstream, peak_rss() as memory:
        conn = viva(upstream)
        with pytest.raises(UpstreamError) as caught, conn.open_content(succeeded(f"{upstream.url}/content")) as stream:
            for _ in stream.iter_bytes():
                pass
    assert caught.value.kind is ErrorKind.PERMANENT
    assert "stacked" in caught.value.message
    assert memory.growth_mib < FLAT_MIB, f"peak RSS grew by {memory.growth_mib:.1f} MiB"


def test_a_gzip_download_inflates_one_chunk_at_a_time_and_keeps_every_byte() -> None:
    bomb = gzip_of_zeros(BOMB)
    digest, size, largest = hashlib.sha256(), 0, 0
    with (
        hostile_upstream(encoded(bomb)) as upstream,
        peak_rss() as memory,
        viva(upstream).open_content(succeeded(f"{upstream.url}/content")) as stream,
    ):
        for chunk in stream.iter_bytes(MIB):
            digest.update(chunk)
            size, largest = size + len(chunk), max(largest, len(chunk))
    assert size == BOMB
    assert largest <= MIB
    assert digest.hexdigest() == hashlib.sha256(bytes(BOMB)).hexdigest()
    assert memory.growth_mib < FLAT_MIB, f"peak RSS grew by {memory.growth_mib:.1f} MiB"


def test_a_download_over_the_targets_maximum_export_size_is_refused() -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.head(200, {"Transfer-Encoding": "chunked"})
        for chunk in zeros(4 * MIB, 64 * 1024):
            reply.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        reply.write(b"0\r\n\r\n")

    with hostile_upstream(scenario) as upstream:
        conn = viva(upstream, max_export_bytes=MIB)
        with pytest.raises(UpstreamError) as caught, conn.open_content(succeeded(f"{upstream.url}/content")) as stream:
            for _ in stream.iter_bytes(64 * 1024):
                pass
    assert caught.value.kind is ErrorKind.PERMANENT
    assert "max_export_bytes" in caught.value.message


def test_a_close_delimited_download_is_refused_as_unframed() -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.head(200, {"Content-Type": "application/json", "Connection": "close"})
        reply.write(b'{"objectives": [1, 2, 3')  # cut mid-stream: no framing tells it from the end
        reply.close()

    with hostile_upstream(scenario) as upstream:
        conn = viva(upstream)
        with pytest.raises(UpstreamError) as caught, conn.open_content(succeeded(f"{upstream.url}/content")) as stream:
            b"".join(stream.iter_bytes())
    assert caught.value.kind is ErrorKind.PERMANENT
    assert "framing" in caught.value.message


def test_a_truncated_gzip_download_whose_content_length_matches_is_a_transient_failure() -> None:
    whole = gzip.compress(json.dumps({"objectives": list(range(20000))}).encode())
    cut = whole[: len(whole) // 2]
    with hostile_upstream(encoded(cut)) as upstream:
        conn = viva(upstream)
        with pytest.raises(UpstreamError) as caught, conn.open_content(succeeded(f"{upstream.url}/content")) as stream:
            b"".join(stream.iter_bytes())
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "compressed stream" in caught.value.message


def test_a_gzip_status_body_within_the_limit_still_reads() -> None:
    body = gzip.compress(json.dumps(graph_job(status="running")).encode())
    with hostile_upstream(encoded(body)) as upstream:
        job = viva(upstream).get_job("job-1")
    assert job.state is JobState.RUNNING
