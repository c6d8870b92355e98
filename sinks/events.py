"""One CloudEvent per finished export, and the two places it can go.

The event id derives from the instance and the outcome, so a publish that the
Durable host re-runs after a crash produces the same id and consumers can
de-duplicate. Locally events go to an Azure Storage queue (Azurite); in Azure
either that queue or an Event Grid topic.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Protocol

from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient
from azure.storage.queue import QueueClient

EVENT_TYPE_PREFIX = "com.exportpipeline.export"
SOURCE_PREFIX = "/exports"


def build_export_event(
    *,
    target: str,
    connector: str,
    instance_id: str,
    outcome: str,
    job_id: str | None,
    blob: dict[str, Any] | None = None,
    manifest: str | None = None,
    error: str | None = None,
    time: datetime | None = None,
) -> CloudEvent[dict[str, Any]]:
    if outcome not in ("succeeded", "failed"):
        raise ValueError(f"outcome must be 'succeeded' or 'failed', got {outcome!r}")
    event_id = hashlib.sha256(f"{instance_id}:{outcome}".encode()).hexdigest()[:32]
    data = {
        "target": target,
        "connector": connector,
        "instance_id": instance_id,
        "job_id": job_id,
        "status": outcome,
        "blob": blob,
        "manifest": manifest,
        "error": error,
    }
    return CloudEvent(
        source=f"{SOURCE_PREFIX}/{target}",
        type=f"{EVENT_TYPE_PREFIX}.{outcome}",
        data=data,
        subject=blob["name"] if blob else target,
        id=event_id,
        time=time or datetime.now(UTC),
        datacontenttype="application/json",
    )


def to_json_dict(event: CloudEvent[dict[str, Any]]) -> dict[str, Any]:
    """The CloudEvents 1.0 JSON structured form."""
    payload: dict[str, Any] = {
        "specversion": event.specversion,
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": event.time.isoformat().replace("+00:00", "Z") if event.time else None,
        "subject": event.subject,
        "datacontenttype": event.datacontenttype,
        "data": event.data,
    }
    return {key: value for key, value in payload.items() if value is not None}


class EventPublisher(Protocol):
    def publish(self, event: CloudEvent[dict[str, Any]]) -> None: ...


class QueueEventPublisher:
    """Puts the event on a Storage queue; the client must base64-encode (the Functions trigger's default).

    The queue exists already: the deployment creates it in Azure, the local tooling next to Azurite.
    """

    def __init__(self, queue: QueueClient) -> None:
        self.queue = queue

    def publish(self, event: CloudEvent[dict[str, Any]]) -> None:
        self.queue.send_message(json.dumps(to_json_dict(event)))


class EventGridEventPublisher:
    """Sends the event to an Event Grid topic (CloudEvents schema)."""

    def __init__(self, endpoint: str, credential: AzureKeyCredential | TokenCredential) -> None:
        self.client = EventGridPublisherClient(endpoint, credential)

    def publish(self, event: CloudEvent[dict[str, Any]]) -> None:
        self.client.send([event])
