"""Manifests, latest.json and the CloudEvents publishers, against Azurite and a loopback Event Grid receiver."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient

from local.azurite import Azurite
from local.simulator.server import serve_in_background, stop_serving
from sinks.events import EventGridEventPublisher, QueueEventPublisher, build_export_event, to_json_dict
from sinks.manifest import BlobRef, ExportManifest, read_latest, update_latest, write_manifest
from sinks.storage_config import StorageSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def container(azurite: Azurite) -> ContainerClient:
    name = f"m{uuid.uuid4().hex}"
    client = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(name)
    client.create_container()
    return client


def manifest(completed_at: str, job_id: str = "job") -> ExportManifest:
    blob = BlobRef(
        container="c", name=f"t/{job_id}/content.csv", url="u", size=1, sha256="0" * 64, content_type="text/csv"
    )
    return ExportManifest(
        target="t", connector="viva_goals", job_id=job_id, instance_id="i", blob=blob, created_at=None,
        completed_at=completed_at, upstream_expires_at=None,
    )  # fmt: skip


def test_manifest_and_latest_round_trip(container: ContainerClient) -> None:
    first = manifest("2026-01-01T00:00:00Z")
    write_manifest(container, first)
    assert update_latest(container, first)
    assert read_latest(container, "t") == first


def test_an_older_export_never_replaces_a_newer_latest(container: ContainerClient) -> None:
    update_latest(container, manifest("2026-01-02T00:00:00Z", "new"))
    assert not update_latest(container, manifest("2026-01-01T00:00:00Z", "old"))
    latest = read_latest(container, "t")
    assert latest is not None
    assert latest.job_id == "new"


def test_concurrent_latest_updates_end_with_the_newest(container: ContainerClient) -> None:
    manifests = [manifest(f"2026-01-01T00:00:{s:02d}Z", f"j{s}") for s in range(8)]
    threads = [threading.Thread(target=update_latest, args=(container, m)) for m in manifests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latest = read_latest(container, "t")
    assert latest is not None
    assert latest.job_id == "j7"


def event(outcome: str = "succeeded") -> Any:
    blob = {
        "container": "c",
        "name": "t/k/content.csv",
        "url": "u",
        "size": 3,
        "sha256": "ab",
        "content_type": "text/csv",
    }
    return build_export_event(
        target="t", connector="viva_goals", instance_id="inst", outcome=outcome, job_id="j", blob=blob, manifest="m"
    )


def test_cloudevent_has_every_required_attribute_and_a_replay_stable_id() -> None:
    data = to_json_dict(event())
    assert data["specversion"] == "1.0"
    assert {"id", "source", "type", "time", "subject", "data"} <= set(data)
    assert data["id"] == to_json_dict(event())["id"]
    assert data["id"] != to_json_dict(event("failed"))["id"]
    assert data["data"]["blob"]["name"] == data["subject"]


def test_queue_publisher_puts_exactly_one_base64_message(azurite: Azurite) -> None:
    settings = StorageSettings(azurite.connection_string, None, None, queue=f"q{uuid.uuid4().hex}")
    settings.queue_client().create_queue()
    QueueEventPublisher(settings.queue_client()).publish(event())
    messages = settings.queue_client().peek_messages(max_messages=10)
    assert len(messages) == 1
    assert json.loads(messages[0].content) == to_json_dict(event()) | {"time": json.loads(messages[0].content)["time"]}
    plain = QueueClient.from_connection_string(azurite.connection_string, settings.queue)
    assert not plain.peek_messages()[0].content.startswith("{")  # base64 on the wire


class _EventGrid(BaseHTTPRequestHandler):
    received: list[Any] = []
    problems: list[str] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        checks = {
            "path": self.path.startswith("/api/events"),
            "key": self.headers.get("aeg-sas-key") == "topic-key",
            "content type": self.headers.get("Content-Type", "").startswith("application/cloudevents-batch+json"),
        }
        events = json.loads(body)
        checks["batch"] = isinstance(events, list) and all(
            e.get("specversion") == "1.0" and e.get("id") and e.get("source") and e.get("type") for e in events
        )
        self.problems.extend(name for name, ok in checks.items() if not ok)
        self.received.extend(events if isinstance(events, list) else [])
        self.send_response(200 if all(checks.values()) else 400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def event_grid() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EventGrid)
    thread = serve_in_background(server, "event-grid")
    _EventGrid.received, _EventGrid.problems = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}/api/events"
    stop_serving(server, thread)


def test_event_grid_publisher_sends_what_event_grid_checks(event_grid: str) -> None:
    EventGridEventPublisher(event_grid, AzureKeyCredential("topic-key")).publish(event())
    assert _EventGrid.problems == []
    assert len(_EventGrid.received) == 1
    assert _EventGrid.received[0]["type"] == "com.exportpipeline.export.succeeded"
    assert _EventGrid.received[0]["data"]["blob"]["sha256"] == "ab"


def test_account_urls_use_the_managed_identity_and_nothing_is_a_connection_string() -> None:
    settings = StorageSettings.from_env(
        {
            "EXPORTS_BLOB_ACCOUNT_URL": "https://acct.blob.core.windows.net",
            "EXPORTS_QUEUE_ACCOUNT_URL": "https://acct.queue.core.windows.net",
        }
    )
    blob, queue = settings.blob_service(), settings.queue_client()
    assert blob.account_name == "acct"
    assert type(blob.credential).__name__ == "DefaultAzureCredential"
    assert type(queue.credential).__name__ == "DefaultAzureCredential"


def test_missing_storage_settings_say_which_to_set() -> None:
    with pytest.raises(ValueError, match="EXPORTS_STORAGE_CONNECTION_STRING"):
        StorageSettings.from_env({})
