"""The example consumer behind the queue and Event Grid triggers: read the event, stream the export, verify it.

Both triggers hand over the same CloudEvents 1.0 envelope: the queue as the JSON text `sinks/events.py`
sends, Event Grid (CloudEvents schema) as the `func.CloudEvent` that azure-functions' converter builds from
that JSON. `envelope_of` turns the latter back into the former, so one function decides what an event means.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from downstream.reader import iter_records, manifest_for_event
from kernel.timestamps import to_iso
from sinks.events import read_event_data
from sinks.freshness import EVENT_TYPE_PREFIX as TARGET_EVENT_PREFIX
from sinks.storage_clients import StorageSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Consumed:
    event_id: str
    outcome: str
    target: str
    records: int | None = None
    sha256: str | None = None


def envelope_of(event: func.CloudEvent) -> dict[str, Any]:
    """The CloudEvents 1.0 JSON envelope of an event the Event Grid trigger decoded (what the queue carries)."""
    return {
        "specversion": event.specversion,
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "subject": event.subject,
        "time": to_iso(event.time) if event.time else None,
        "data": event.get_json(),
    }


def consume_event(message: str, settings: StorageSettings | None = None) -> Consumed:
    """Consume one event given as the JSON text of its envelope (a queue message)."""
    return consume_envelope(json.loads(message), settings)


def consume_envelope(event: Any, settings: StorageSettings | None = None) -> Consumed:
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("data"), dict):
        raise ValueError("not an export event: a CloudEvent with a string id and a JSON object as data is expected")
    data = read_event_data(event["data"])  # refuses, by name, the data of a release this one does not read
    if str(event.get("type", "")).startswith(f"{TARGET_EVENT_PREFIX}."):  # a target turned stale or fresh: no export
        log.info("target %s is now %s", data.get("target"), data.get("state"))
        return Consumed(event["id"], str(data.get("state")), str(data.get("target")))
    if data.get("status") != "succeeded":
        log.warning("export %s of %s failed upstream: %s", event["id"], data.get("target"), data.get("error"))
        return Consumed(event["id"], "failed", str(data.get("target")))
    container = (settings or StorageSettings.from_env()).container_client(create=False)
    manifest = manifest_for_event(container, event)
    records = sum(1 for _ in iter_records(container, manifest))
    log.info("export %s of %s: %d records, sha256 verified", event["id"], manifest.target, records)
    return Consumed(event["id"], "succeeded", manifest.target, records, manifest.blob.sha256 if manifest.blob else None)
