"""Where the local runner keeps each instance's durable state, so that a crashed run can resume.

The runner saves after every replay step, as the host commits history after
every episode, and `resume` continues from what was saved: the outstanding work
is read back from the history itself, so completed activities are not run
again. A store only has to keep plain JSON per instance id: `MemoryHistoryStore`
here, and `BlobHistoryStore` (`blob_store`), which keeps it in Blob Storage.
A saved instance outlives the release that saved it, so it carries
`schema_version` (`versioned`): one saved by the release before (no version)
resumes, one of a release this one does not know is refused by name.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, cast

import versioned

Status = Literal["Running", "Completed", "Failed", "Terminated"]
STATUSES: tuple[Status, ...] = ("Running", "Completed", "Failed", "Terminated")
SCHEMA_VERSION = 2  # version 1: the record of the release before it carried a version (same keys)


@dataclass
class StoredInstance:
    """One orchestration instance's durable state: the current generation's history and its outcome."""

    name: str
    input: str | None  # JSON text, as in the ExecutionStarted event and the SDK payload
    history: list[dict[str, Any]] = field(default_factory=list)
    generation: int = 1
    status: Status = "Running"
    custom_status: Any = None
    output: Any = None
    error: str | None = None
    parent_instance_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return versioned.stamped(asdict(self), SCHEMA_VERSION)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredInstance:
        versioned.check(data, "stored runner instance", SCHEMA_VERSION)
        if data.get("status") not in STATUSES:
            raise ValueError(f"stored instance has an unknown status {data.get('status')!r}")
        fields = {key: value for key, value in data.items() if key != versioned.FIELD}
        return cls(**{**fields, "status": cast(Status, data["status"])})


class HistoryStore(Protocol):
    def load(self, instance_id: str) -> StoredInstance | None: ...

    def save(self, instance_id: str, instance: StoredInstance) -> None: ...


class MemoryHistoryStore:
    """Keeps JSON copies in a dict: the runner's objects never alias what was saved, as with a real store."""

    def __init__(self) -> None:
        self._items: dict[str, str] = {}
        self._lock = threading.Lock()

    def load(self, instance_id: str) -> StoredInstance | None:
        with self._lock:
            text = self._items.get(instance_id)
        return None if text is None else StoredInstance.from_dict(json.loads(text))

    def save(self, instance_id: str, instance: StoredInstance) -> None:
        text = json.dumps(instance.to_dict())
        with self._lock:
            self._items[instance_id] = text

    def close(self) -> None:
        """Nothing to release: a memory store has no other process to share an instance with."""

    def instance_ids(self) -> list[str]:
        with self._lock:
            return list(self._items)
