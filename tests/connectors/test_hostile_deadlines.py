"""A trickling upstream: every call ends at its total deadline, downloads at their minimum throughput.

Each server below trickles one byte per 0.2 s, always inside the 1 s read timeout, for about 4 s and then
finishes normally; a client with only per-read timeouts waits it out and succeeds. Limits are small so the
tests end quickly; no test asserts a duration.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.base import JobState, JobStatus
from kernel.errors import ErrorKind, UpstreamError
from tests.connectors.hostile import viva
from tests.support.hostile_upstream import Reply, Request, graph_job, hostile_upstream

EVERY_S = 0.2
BODY = json.dumps(graph_job(status="running", padding="." * 10)).encode()
LIMITS: dict[str, Any] = {"timeout_s": 1.0, "deadline_s": 1.0}


def test_a_status_body_trickled_within_the_read_timeout_ends_at_the_total_deadline() -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.head(200, {"Content-Type": "application/json", "Content-Length": str(len(BODY))})
        reply.trickle(BODY, EVERY_S)

    with hostile_upstream(scenario) as upstream, pytest.raises(UpstreamError) as caught:
        viva(upstream, **LIMITS).get_job("job-1")
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "deadline" in caught.value.message


def test_a_status_line_and_headers_trickled_end_at_the_total_deadline() -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n".encode()

    def scenario(request: Request, reply: Reply) -> None:
        reply.trickle(head[:25], EVERY_S)
        reply.write(head[25:] + BODY)

    with hostile_upstream(scenario) as upstream, pytest.raises(UpstreamError) as caught:
        viva(upstream, **LIMITS).get_job("job-1")
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "deadline" in caught.value.message


def test_the_deadline_does_not_cut_a_prompt_answer() -> None:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(200, graph_job(status="running"))

    with hostile_upstream(scenario) as upstream:
        assert viva(upstream, **LIMITS).get_job("job-1").state is JobState.RUNNING


def test_a_download_below_the_minimum_throughput_is_a_transient_failure() -> None:
    size = 1024 * 1024

    def scenario(request: Request, reply: Reply) -> None:
        reply.head(200, {"Content-Length": str(size)})
        reply.trickle(b"x" * 20, EVERY_S)
        reply.write(b"x" * (size - 20))

    job = JobStatus("job-1", JobState.SUCCEEDED, "succeeded")
    with hostile_upstream(scenario) as upstream:
        conn = viva(upstream, timeout_s=1.0, min_bytes_per_s=1024, throughput_window_s=1.0)
        with pytest.raises(UpstreamError) as caught, conn.open_content(job) as stream:
            for _ in stream.iter_bytes(64 * 1024):
                pass
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "minimum throughput" in caught.value.message


def test_a_download_at_a_steady_rate_above_the_minimum_completes() -> None:
    size = 256 * 1024

    def scenario(request: Request, reply: Reply) -> None:
        reply.head(200, {"Content-Length": str(size)})
        for _ in range(size // 4096):
            reply.write(b"y" * 4096)

    job = JobStatus("job-1", JobState.SUCCEEDED, "succeeded")
    with hostile_upstream(scenario) as upstream:
        conn = viva(upstream, timeout_s=1.0, min_bytes_per_s=1024, throughput_window_s=1.0)
        with conn.open_content(job) as stream:
            assert sum(len(chunk) for chunk in stream.iter_bytes(64 * 1024)) == size
