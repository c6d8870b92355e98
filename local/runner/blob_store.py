"""Keep the local runner's history in Blob Storage, so a run survives the process that started it.

`MemoryHistoryStore` dies with the process, which is exactly when a history is
needed: after a crash or a Ctrl-C, a re-run of `python -m local run` with the
same run key must resume the instance instead of creating a second upstream
job. Putting each instance in one blob of the exports storage account (Azurite
locally) gives that with nothing else to install.

Each save is one `upload_blob(overwrite=True)`: the service replaces the blob
in one step, so a reader, or a runner resuming after a crash in the middle of
a save, sees the previous history or the new one, never a torn one. Blob names
are a hash of the instance id because ids may hold characters a blob path
should not.
"""

from __future__ import annotations

import hashlib
import json

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from local.runner.store import StoredInstance

PREFIX = "runner-history/"
JSON = ContentSettings(content_type="application/json")


def history_blob_name(instance_id: str) -> str:
    return f"{PREFIX}{hashlib.sha256(instance_id.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}.json"


class BlobHistoryStore:
    """A `HistoryStore` with one JSON blob per instance in `container` (which must exist). Thread-safe."""

    def __init__(self, container: ContainerClient) -> None:
        self.container = container

    def load(self, instance_id: str) -> StoredInstance | None:
        try:
            data = self.container.download_blob(history_blob_name(instance_id)).readall()
        except ResourceNotFoundError:
            return None
        return StoredInstance.from_dict(json.loads(data))

    def save(self, instance_id: str, instance: StoredInstance) -> None:
        text = json.dumps(instance.to_dict())
        self.container.upload_blob(history_blob_name(instance_id), text.encode(), overwrite=True, content_settings=JSON)
