"""Manifests, latest.json and the CloudEvents publishers, against Azurite and a loopback Event Grid receiver."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient

from local.azurite import Azurite
from sinks.blob_names import latest_blob_name
from sinks.blob_ref import BlobRef
from sinks.event_grid import EventGridEventPublisher
from sinks.events import (
    EventTooLarge,
    QueueEventPublisher,
    build_export_event,
    to_json_dict,
)
from sinks.manifest import ExportManifest, read_latest, update_latest, write_manifest
from sinks.storage_clients import StorageSettings
from tests.support.loopback_server import loopback_server

pytestmark = pytest.mark.integration


@pytest.fixture
def container(azurite: Azurite) -> ContainerClient:
    name = f"m{uuid.uuid4().hex}"
    client = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(name)
    client.create_container()
    return client


def manifest(completed_at: str, job_id: str = "job", created_at: str | None = None) -> ExportManifest:
    blob = BlobRef(
        container="c", name=f"t/{job_id}/content.csv", url="u", size=1, sha256="0" * 64, content_type="text/csv"
    )
    return ExportManifest(
        target="t",
        connector="viva_goals",
        job_id=job_id,
        instance_id="i",
        blob=blob,
        created_at=created_at,
        completed_at=completed_at,
        upstream_expires_at=None,
    )


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


def test_latest_follows_the_upstream_snapshot_not_the_order_our_copies_committed(container: ContainerClient) -> None:
    newer_snapshot = manifest("2026-01-01T11:30:00Z", "newer", created_at="2026-01-01T11:00:00Z")
    older_snapshot = manifest("2026-01-01T12:00:00Z", "older", created_at="2026-01-01T10:00:00Z")
    assert update_latest(container, newer_snapshot)
    assert not update_latest(container, older_snapshot)  # committed later, but a snapshot taken earlier
    latest = read_latest(container, "t")
    assert latest is not None
    assert latest.job_id == "newer"


def test_latest_compares_times_as_moments_not_as_text(container: ContainerClient) -> None:
    # isoformat() drops ".000000": as text "...00Z" sorts after "...00.500000Z" although it is earlier
    later = manifest("2026-01-01T12:00:00Z", "later", created_at="2026-01-01T10:00:00.500000Z")
    earlier = manifest("2026-01-01T12:00:01Z", "earlier", created_at="2026-01-01T10:00:00Z")
    assert update_latest(container, later)
    assert not update_latest(container, earlier)
    same_moment_other_zone = manifest("2026-01-01T12:00:02Z", "zone", created_at="2026-01-01T11:00:00+01:00")
    assert not update_latest(container, same_moment_other_zone)  # 10:00 UTC, still older than 10:00:00.5
    latest = read_latest(container, "t")
    assert latest is not None
    assert latest.job_id == "later"


@pytest.mark.parametrize("future", ["9999-12-31T23:59:59Z", "2027-01-01T00:10:00Z"])
def test_an_upstream_creation_time_in_the_future_does_not_pin_latest(container: ContainerClient, future: str) -> None:
    # committed at 2027-01-01T00:00: a creation time beyond that plus the clock-skew bound is unreadable
    pinned = manifest("2027-01-01T00:00:00Z", "far-future", created_at=future)
    assert update_latest(container, pinned)
    later = manifest("2027-01-02T00:00:00Z", "honest", created_at="2027-01-01T00:05:00Z")
    assert update_latest(container, later)
    latest = read_latest(container, "t")
    assert latest is not None
    assert latest.job_id == "honest"


def test_a_creation_time_within_the_skew_bound_still_orders_latest(container: ContainerClient) -> None:
    slightly_ahead = manifest("2027-01-01T00:00:00Z", "ahead", created_at="2027-01-01T00:04:00Z")
    assert update_latest(container, slightly_ahead)
    assert not update_latest(container, manifest("2027-01-01T00:01:00Z", "older", created_at="2027-01-01T00:03:00Z"))
    latest = read_latest(container, "t")
    assert latest is not None
    assert latest.job_id == "ahead"


def test_commit_time_is_compared_only_with_commit_time(container: ContainerClient) -> None:
    # the first has no upstream time; its commit time must not be weighed against the other's creation time
    no_upstream_time = manifest("2027-01-01T12:00:00Z", "no-created")
    committed_later = manifest("2027-01-01T13:00:00Z", "created-earlier", created_at="2027-01-01T11:00:00Z")
    assert update_latest(container, no_upstream_time)
    assert update_latest(container, committed_later)
    latest = read_latest(container, "t")
    assert latest is not None
    assert latest.job_id == "created-earlier"


@pytest.mark.parametrize("foreign", [b'{"schema": "theirs", "points_to": "x"}', b"not json at all \xff", b""])
def test_an_unreadable_latest_is_replaced_not_fatal(container: ContainerClient, foreign: bytes) -> None:
    container.upload_blob(latest_blob_name("t"), foreign)
    fresh = manifest("2026-01-01T00:00:00Z", "fresh")
    assert update_latest(container, fresh)
    assert read_latest(container, "t") == fresh


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
    sent = event()
    QueueEventPublisher(settings.queue_client()).publish(sent)
    messages = settings.queue_client().peek_messages(max_messages=10)
    assert len(messages) == 1
    body = json.loads(messages[0].content)  # read as CloudEvents 1.0 structured JSON, not through our serializer
    assert (body["specversion"], body["datacontenttype"]) == ("1.0", "application/json")
    assert (body["id"], body["source"], body["subject"]) == (sent.id, sent.source, "t/k/content.csv")
    assert body["type"] == "com.exportpipeline.export.succeeded"
    assert body["data"] == sent.data
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["time"]), body["time"]
    plain = QueueClient.from_connection_string(azurite.connection_string, settings.queue)
    assert not plain.peek_messages()[0].content.startswith("{")  # base64 on the wire


def failed_event(error: str, job_id: str = "j") -> Any:
    return build_export_event(
        target="t", connector="viva_goals", instance_id="inst", outcome="failed", job_id=job_id, error=error
    )


def test_an_event_too_large_for_a_queue_message_is_shrunk_and_still_sent(azurite: Azurite) -> None:
    settings = StorageSettings(azurite.connection_string, None, None, queue=f"q{uuid.uuid4().hex}")
    reason = "the upstream said: " + "\u00e9\U0001d518" * 35_000  # ~250 KB as JSON
    settings.queue_client().create_queue()  # the local tooling's job (local.azurite.provision), not the publisher's
    sent = QueueEventPublisher(settings.queue_client()).publish(failed_event(reason))
    messages = settings.queue_client().peek_messages(max_messages=10)
    assert len(messages) == 1
    delivered = json.loads(messages[0].content)
    assert delivered["data"]["error"].startswith("the upstream said: ")
    assert "chars, sha256" in delivered["data"]["error"]  # says it was cut
    assert sent.data is not None
    assert delivered["data"]["error"] == sent.data["error"]
    assert delivered["id"] == failed_event(reason).id


def test_an_event_that_cannot_fit_is_refused_with_a_clear_error(azurite: Azurite) -> None:
    settings = StorageSettings(azurite.connection_string, None, None, queue=f"q{uuid.uuid4().hex}")
    with pytest.raises(EventTooLarge, match=r"over the 65536-byte limit .* even without its failure reason"):
        QueueEventPublisher(settings.queue_client()).publish(failed_event("short", job_id="j" * 70_000))


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
    _EventGrid.received, _EventGrid.problems = [], []
    with loopback_server(_EventGrid, name="event-grid") as served:
        yield f"{served.url}/api/events"


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
