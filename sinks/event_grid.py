"""The Event Grid topic as the place export events go, for deployments that choose it (EXPORTS_EVENTS_SINK).

A module of its own so that the Event Grid SDK is imported only by an app that
publishes there: `storage_clients.build_publisher` imports it on that choice alone.
"""

from __future__ import annotations

from typing import Any

from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient

from sinks.events import fit_event, queue_message

EVENT_GRID_LIMIT = 1024 * 1024  # bytes of one Event Grid event


def _grid_size(event: CloudEvent[dict[str, Any]]) -> int:
    return len(queue_message(event).encode())


class EventGridEventPublisher:
    """Sends the event to an Event Grid topic (CloudEvents schema)."""

    def __init__(self, endpoint: str, credential: AzureKeyCredential | TokenCredential) -> None:
        self.client = EventGridPublisherClient(endpoint, credential)

    def publish(self, event: CloudEvent[dict[str, Any]]) -> CloudEvent[dict[str, Any]]:
        event = fit_event(event, EVENT_GRID_LIMIT, _grid_size)
        self.client.send([event])
        return event
