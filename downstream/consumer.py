"""The example consumer behind the queue-triggered function: read the event, stream the export, verify it."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from downstream.reader import iter_records, manifest_for_event
from sinks.storage_config import StorageSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Consumed:
    event_id: str
    outcome: str
    target: str
    records: int | None = None
    sha256: str | None = None


def cloud_event_json(data: Any, event_id: str, subject: str | None, event_type: str) -> str:
    """The structured CloudEvent JSON for an event that reached us through an Event Grid trigger."""
    return json.dumps({"id": event_id, "subject": subject, "type": event_type, "data": data})


def consume_event(message: str, settings: StorageSettings | None = None) -> Consumed:
    event: dict[str, Any] = json.loads(message)
    data = event.get("data") or {}
    if data.get("status") != "succeeded":
        log.warning("export %s of %s failed upstream: %s", event.get("id"), data.get("target"), data.get("error"))
        return Consumed(event["id"], "failed", str(data.get("target")))
    container = (settings or StorageSettings.from_env()).container_client(create=False)
    manifest = manifest_for_event(container, event)
    records = sum(1 for _ in iter_records(container, manifest))
    log.info("export %s of %s: %d records, sha256 verified", event["id"], manifest.target, records)
    return Consumed(event["id"], "succeeded", manifest.target, records, manifest.blob.sha256)
