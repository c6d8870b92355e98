"""A stand-in for the Durable Functions host: runs orchestrators through the SDK's real replay."""

from local.runner.clock import VirtualClock
from local.runner.engine import LocalRunner, OrchestrationResult, RunnerEvent, flatten_actions, replay_actions
from local.runner.store import HistoryStore, MemoryHistoryStore, StoredInstance

__all__ = [
    "HistoryStore",
    "LocalRunner",
    "MemoryHistoryStore",
    "OrchestrationResult",
    "RunnerEvent",
    "StoredInstance",
    "VirtualClock",
    "flatten_actions",
    "replay_actions",
]
