"""A stand-in for the Durable Functions host: runs production orchestrators through the SDK's real replay.

The host cannot be installed on development machines, and that must not make
the orchestration untestable; see `engine` for how the runner plays the host
`replay` for the one place it calls the SDK, and `host_model` for how the host
reads what the SDK returns.
"""

from local.runner.blob_store import BlobHistoryStore
from local.runner.clock import VirtualClock
from local.runner.engine import LocalRunner
from local.runner.instance import RunnerClosed
from local.runner.replay import flatten_actions, replay_actions
from local.runner.results import OrchestrationResult, RunnerEvent
from local.runner.store import HistoryStore, MemoryHistoryStore, StoredInstance

__all__ = [
    "BlobHistoryStore",
    "HistoryStore",
    "LocalRunner",
    "MemoryHistoryStore",
    "OrchestrationResult",
    "RunnerClosed",
    "RunnerEvent",
    "StoredInstance",
    "VirtualClock",
    "flatten_actions",
    "replay_actions",
]
