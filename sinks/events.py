"""One CloudEvent per finished export, and the two places it can go.

The event id derives from the instance and the outcome, so a publish that the
Durable host re-runs after a crash produces the same id and consumers can
de-duplicate. Locally events go to an Azure Storage queue (Azurite); in Azure
either that queue or an Event Grid topic (`sinks/event_grid.py`, imported only
when the settings choose it).

Both places have a size limit (a queue message is at most 64 KiB as stored,
base64 included; an Event Grid event 1 MiB). An event that would not fit has
its one free text, the failure reason, shortened until it does; if it still
cannot fit, publishing raises `EventTooLarge` saying why, so no event is ever
dropped without a word.

Consumers outlive releases, so an event says which shape its data has twice:
the CloudEvents `dataschema` attribute names it, and the data carries
`schema_version` (`versioned`; an event of the release before it carried
none reads as version 1). `read_event_data` is the reader's side.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from azure.core.messaging import CloudEvent
from azure.storage.queue import QueueClient

import versioned
from kernel.redaction import clip
from kernel.timestamps import to_iso

EVENT_TYPE_PREFIX = "com.exportpipeline.export"
SOURCE_PREFIX = "/exports"
QUEUE_MESSAGE_LIMIT = 64 * 1024  # bytes of a Storage queue message as stored (our messages are base64)
EVENT_SCHEMA_VERSION = 2  # version 1: the data of the release before events carried a version (same keys)
EVENT_DATASCHEMA = f"urn:exportpipeline:schemas:export-event:{EVENT_SCHEMA_VERSION}"


class EventTooLarge(ValueError):
    """An event that cannot be made to fit where it is going, even with its failure reason cut."""


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
    parts: int | None = None,
    size: int | None = None,
    no_data: bool = False,
    cleanup: dict[str, Any] | None = None,
    time: datetime | None = None,
) -> CloudEvent[dict[str, Any]]:
    """The event; `parts` (how many blobs the manifest lists), `size` (their bytes), `no_data` and `cleanup` (what
    the upstream cleanup did) are added to the data only when known, so events of single-blob exports keep their
    keys."""
    if outcome not in ("succeeded", "failed"):
        raise ValueError(f"outcome must be 'succeeded' or 'failed', got {outcome!r}")
    event_id = hashlib.sha256(f"{instance_id}:{outcome}".encode()).hexdigest()[:32]
    data = {
        versioned.FIELD: EVENT_SCHEMA_VERSION,
        "target": target,
        "connector": connector,
        "instance_id": instance_id,
        "job_id": job_id,
        "status": outcome,
        "blob": blob,
        "manifest": manifest,
        "error": error,
    }
    if parts is not None:
        data["parts"] = parts
        data["bytes"] = size
    if no_data:
        data["no_data"] = True
    if cleanup is not None:
        error_text = cleanup.get("error")
        data["cleanup"] = {
            "sent": bool(cleanup.get("sent")),
            "error": clip(str(error_text), 500) if error_text else None,
        }
    return CloudEvent(
        source=f"{SOURCE_PREFIX}/{target}",
        type=f"{EVENT_TYPE_PREFIX}.{outcome}",
        data=data,
        subject=blob["name"] if blob else target,
        id=event_id,
        time=time or datetime.now(UTC),
        datacontenttype="application/json",
        dataschema=EVENT_DATASCHEMA,
    )


def to_json_dict(event: CloudEvent[dict[str, Any]]) -> dict[str, Any]:
    """The CloudEvents 1.0 JSON structured form."""
    payload: dict[str, Any] = {
        "specversion": event.specversion,
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": to_iso(event.time) if event.time else None,
        "subject": event.subject,
        "datacontenttype": event.datacontenttype,
        "dataschema": event.dataschema,
        "data": event.data,
    }
    return {key: value for key, value in payload.items() if value is not None}


def queue_message(event: CloudEvent[dict[str, Any]]) -> str:
    return json.dumps(to_json_dict(event))


def _queue_size(event: CloudEvent[dict[str, Any]]) -> int:
    return len(base64.b64encode(queue_message(event).encode()))


def fit_event(
    event: CloudEvent[dict[str, Any]], limit: int, size: Callable[[CloudEvent[dict[str, Any]]], int]
) -> CloudEvent[dict[str, Any]]:
    """`event` if `size(event) <= limit`; else the same event with its `error` text cut to fit; else EventTooLarge."""
    data = dict(event.data or {})
    error = data.get("error")
    keep = len(error) if isinstance(error, str) else 0
    while size(event) > limit:
        if keep == 0:
            raise EventTooLarge(
                f"event {event.id} for {clip(str(data.get('target')), 100)} is {size(event)} bytes, over the "
                f"{limit}-byte limit of where it goes, even without its failure reason"
            )
        keep //= 2
        data["error"] = clip(str(error), keep) if keep else None
        event = CloudEvent(
            source=event.source,
            type=event.type,
            data=data,
            subject=event.subject,
            id=event.id,
            time=event.time,
            datacontenttype=event.datacontenttype,
            dataschema=event.dataschema,
        )
    return event


def read_event_data(data: dict[str, Any]) -> dict[str, Any]:
    """An export event's data as this release reads it; `versioned.UnsupportedVersion` for another release's."""
    versioned.check(data, "export event data", EVENT_SCHEMA_VERSION)
    return versioned.stamped(data, EVENT_SCHEMA_VERSION)


class EventPublisher(Protocol):
    def publish(self, event: CloudEvent[dict[str, Any]]) -> CloudEvent[dict[str, Any]]:
        """Send the event; returns it as sent (its failure reason may have been cut to fit)."""
        ...


class QueueEventPublisher:
    """Puts the event on a Storage queue; the client must base64-encode (the Functions trigger's default).

    The queue exists already: the deployment creates it in Azure, the local tooling next to Azurite.
    """

    def __init__(self, queue: QueueClient) -> None:
        self.queue = queue

    def publish(self, event: CloudEvent[dict[str, Any]]) -> CloudEvent[dict[str, Any]]:
        event = fit_event(event, QUEUE_MESSAGE_LIMIT, _queue_size)
        self.queue.send_message(queue_message(event))
        return event
