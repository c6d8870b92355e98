"""One place that turns app settings into Storage and event clients.

Locally a connection string (Azurite's by default); in Azure an account URL
reached with `DefaultAzureCredential` (the Function App's managed identity).

Clients are made once per process and account and then shared (they are
thread-safe), so activity calls reuse one connection pool instead of opening
new connections, and a credential's tokens, every time. The export container
and events queue are not created here: in Azure the deployment creates them
(`infra/`), locally the tooling that starts Azurite does (`local.azurite.provision`),
so an activity never pays a create request per call.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from dataclasses import dataclass

from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ResourceExistsError
from azure.identity import DefaultAzureCredential
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

import app_settings
from kernel.errors import ConfigurationError, ErrorKind
from sinks.events import EventPublisher, QueueEventPublisher

EVENT_SINKS = ("queue", "eventgrid")


@functools.cache
def _credential() -> DefaultAzureCredential:
    return DefaultAzureCredential()


@functools.cache
def _blob_service(connection_string: str | None, account_url: str | None) -> BlobServiceClient:
    if connection_string:
        return BlobServiceClient.from_connection_string(connection_string)
    assert account_url
    return BlobServiceClient(account_url, credential=_credential())


@functools.cache
def _queue_client(connection_string: str | None, account_url: str | None, queue: str) -> QueueClient:
    encode, decode = TextBase64EncodePolicy(), TextBase64DecodePolicy()
    if connection_string:
        return QueueClient.from_connection_string(
            connection_string, queue, message_encode_policy=encode, message_decode_policy=decode
        )
    if not account_url:
        raise ConfigurationError(ErrorKind.PERMANENT, "EXPORTS_QUEUE_ACCOUNT_URL is not set")
    return QueueClient(
        account_url, queue, credential=_credential(), message_encode_policy=encode, message_decode_policy=decode
    )


@dataclass(frozen=True)
class StorageSettings:
    connection_string: str | None
    blob_account_url: str | None
    queue_account_url: str | None
    container: str = app_settings.default("EXPORTS_CONTAINER")
    queue: str = app_settings.default("EXPORTS_EVENTS_QUEUE")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageSettings:
        settings = cls(
            app_settings.get("EXPORTS_STORAGE_CONNECTION_STRING", environ),
            app_settings.get("EXPORTS_BLOB_ACCOUNT_URL", environ),
            app_settings.get("EXPORTS_QUEUE_ACCOUNT_URL", environ),
            app_settings.get("EXPORTS_CONTAINER", environ),
            app_settings.get("EXPORTS_EVENTS_QUEUE", environ),
        )
        if not settings.connection_string and not settings.blob_account_url:
            raise ConfigurationError(
                ErrorKind.PERMANENT,
                "no export storage configured: set EXPORTS_STORAGE_CONNECTION_STRING (local) "
                "or EXPORTS_BLOB_ACCOUNT_URL and EXPORTS_QUEUE_ACCOUNT_URL (Azure, managed identity)",
            )
        return settings

    def blob_service(self) -> BlobServiceClient:
        """This process's client for the account (made on first use, then shared)."""
        return _blob_service(self.connection_string, None if self.connection_string else self.blob_account_url)

    def container_client(self, create: bool = False) -> ContainerClient:
        """The export container; `create` is for local tooling only (the deployment creates it in Azure)."""
        container = self.blob_service().get_container_client(self.container)
        if create:
            with contextlib.suppress(ResourceExistsError):
                container.create_container()
        return container

    def queue_client(self) -> QueueClient:
        """This process's client for the events queue (base64 messages, the Functions trigger's default)."""
        account_url = None if self.connection_string else self.queue_account_url
        return _queue_client(self.connection_string, account_url, self.queue)


def events_sink(environ: Mapping[str, str] | None = None) -> str:
    """Where export events go, as the settings say: 'queue' (default) or 'eventgrid'; anything else is refused."""
    sink = app_settings.get("EXPORTS_EVENTS_SINK", environ).lower()
    if sink not in EVENT_SINKS:
        raise ConfigurationError(
            ErrorKind.PERMANENT, f"EXPORTS_EVENTS_SINK must be 'queue' or 'eventgrid', got {sink!r}"
        )
    return sink


def build_publisher(environ: Mapping[str, str] | None = None) -> EventPublisher:
    """The event publisher the settings ask for: a Storage queue (default) or an Event Grid topic."""
    if events_sink(environ) == "queue":
        return QueueEventPublisher(StorageSettings.from_env(environ).queue_client())
    from sinks.event_grid import EventGridEventPublisher  # the Event Grid SDK only where it is chosen

    endpoint = app_settings.get("EVENTGRID_TOPIC_ENDPOINT", environ)
    if not endpoint:
        raise ConfigurationError(ErrorKind.PERMANENT, "EXPORTS_EVENTS_SINK=eventgrid needs EVENTGRID_TOPIC_ENDPOINT")
    key = app_settings.get("EVENTGRID_TOPIC_KEY", environ)
    return EventGridEventPublisher(endpoint, AzureKeyCredential(key) if key else _credential())
