"""Where the local runner keeps each instance's history, so that a crashed run can resume.

The runner saves after every episode, like the Durable host does, and `resume`
continues from what was saved: completed activities are not run again.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass
class StoredInstance:
    """One orchestration instance's durable state."""

    name: str
    input_json: str | None
    history: list[dict[str, Any]] = field(default_factory=list)
    generation: int = 1
    status: str = "Running"  # Running | Completed | Failed | Terminated
    custom_status: Any = None
    output: Any = None
    error: str | None = None
    next_task_id: int = 0
    handled_actions: int = 0  # how many of the SDK's (cumulative) actions were already acted on
    pending: list[dict[str, Any]] = field(default_factory=list)  # scheduled, not yet completed work

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredInstance:
        return cls(**data)


class HistoryStore(Protocol):
    def load(self, instance_id: str) -> StoredInstance | None: ...

    def save(self, instance_id: str, instance: StoredInstance) -> None: ...


class MemoryHistoryStore:
    """Keeps copies in a dict; enough for tests and one-process runs."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def load(self, instance_id: str) -> StoredInstance | None:
        with self._lock:
            data = self._items.get(instance_id)
        return StoredInstance.from_dict(_deep_copy(data)) if data else None

    def save(self, instance_id: str, instance: StoredInstance) -> None:
        with self._lock:
            self._items[instance_id] = _deep_copy(instance.to_dict())

    def instance_ids(self) -> list[str]:
        with self._lock:
            return list(self._items)


def _deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(data))
    return copied
