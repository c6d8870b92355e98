"""Activities reuse one Blob and one Queue client per process and never create the container or the queue.

The clients are the real ones, talking to Azurite through a counting loopback
proxy: the proxy sees every request line and every new connection.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from activities.connections import connector_for
from activities.export_activities import download_export, publish_export_event
from connectors.base import JobState
from local.azurite import Azurite
from local.simulator import Simulator
from sinks.storage_clients import StorageSettings
from tests.support.proxy import CountingProxy
from tests.support.targets import viva_target

pytestmark = pytest.mark.integration


@pytest.fixture
def proxies(azurite: Azurite, export_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, CountingProxy]]:
    """The activities' storage, reached through proxies; the container and queue exist (`export_env` made them)."""
    blob, queue = CountingProxy(azurite.host, azurite.blob_port), CountingProxy(azurite.host, azurite.queue_port)
    proxied = Azurite(azurite.host, blob.port, queue.port, azurite.table_port)
    monkeypatch.setenv("EXPORTS_STORAGE_CONNECTION_STRING", proxied.connection_string)
    yield {"blob": blob, "queue": queue}
    blob.close()
    queue.close()


def export_once(simulator: Simulator, n: int) -> None:
    target = viva_target(simulator).to_input()
    connector = connector_for(target)
    job = connector.start_job()
    while job.state is not JobState.SUCCEEDED:
        job = connector.get_job(job.job_id)
    instance = f"clients-{n}"
    downloaded = download_export({"target": target, "job": job.to_dict(), "instance_id": instance})
    assert "blob" in downloaded, downloaded
    publish_export_event(
        {
            "target": target,
            "instance_id": instance,
            "outcome": "succeeded",
            "job_id": job.job_id,
            "blob": downloaded["blob"],
            "manifest": downloaded["manifest"],
        }
    )


def test_downloads_and_events_create_no_container_or_queue_and_reuse_their_connections(
    proxies: dict[str, CountingProxy], simulator: Simulator
) -> None:
    settings = StorageSettings.from_env()
    export_once(simulator, 1)
    opened = {name: proxy.connections for name, proxy in proxies.items()}
    export_once(simulator, 2)

    blob_requests, queue_requests = proxies["blob"].requests, proxies["queue"].requests
    assert any("comp=block" in line for line in blob_requests)  # the proxy did see the downloads
    assert sum(line.startswith("POST") and "/messages" in line for line in queue_requests) == 2
    assert [line for line in blob_requests if "restype=container" in line and line.startswith("PUT")] == []
    assert [line for line in queue_requests if line.split("?")[0].endswith(f"/{settings.queue}")] == []
    assert {name: proxy.connections for name, proxy in proxies.items()} == opened  # the second export opened none
