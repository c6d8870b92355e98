"""A gigabyte streams through a connector in constant memory."""

from __future__ import annotations

import hashlib

import pytest

from credentials.static_token import StaticTokenProvider
from local.simulator import GRAPH_FIXTURE_TOKEN, Simulator
from tests.support.connectors import viva_goals_connector
from tests.support.content import expected_sha256
from tests.support.memory import peak_rss

GIB = 2**30


@pytest.mark.slow
@pytest.mark.integration
def test_one_gib_streams_through_the_connector_with_flat_memory(simulator: Simulator) -> None:
    simulator.config.content_size = GIB + 12345
    simulator.config.chunk_size = 1024 * 1024
    conn = viva_goals_connector(simulator.graph_base_url, StaticTokenProvider("T", {"T": GRAPH_FIXTURE_TOKEN}))
    job = conn.start_job()
    done = [conn.get_job(job.job_id) for _ in range(2)][-1]
    digest, size = hashlib.sha256(), 0
    with peak_rss() as memory, conn.open_content(done) as stream:
        for chunk in stream.iter_bytes(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    assert size >= GIB
    assert memory.growth_mib < 64, f"peak RSS grew by {memory.growth_mib:.1f} MiB"
    assert digest.hexdigest() == expected_sha256("graph", job.job_id, simulator.config.content_size)
