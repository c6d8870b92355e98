"""Read back what an export left in Azurite: blobs, manifests, events."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from azure.storage.blob import BlobServiceClient, ContainerClient

from sinks.storage_clients import StorageSettings


def settings() -> StorageSettings:
    return StorageSettings.from_env()


def container() -> ContainerClient:
    s = settings()
    assert s.connection_string
    return BlobServiceClient.from_connection_string(s.connection_string).get_container_client(s.container)


def blob_names() -> list[str]:
    c = container()
    return sorted(b.name for b in c.list_blobs()) if c.exists() else []


def blob_sha256(name: str) -> str:
    digest = hashlib.sha256()
    for chunk in container().download_blob(name).chunks():
        digest.update(chunk)
    return digest.hexdigest()


def read_json(name: str) -> Any:
    return json.loads(container().download_blob(name).readall())


def events() -> list[dict[str, Any]]:
    queue = settings().queue_client()
    try:
        return [json.loads(m.content) for m in queue.peek_messages(max_messages=32)]
    except Exception:  # the queue does not exist: no event was ever published
        return []
