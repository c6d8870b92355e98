"""What callers of the local runner see: progress events while it runs, one result when it ends.

Both are plain frozen values so that a progress display, a CLI summary or a
test can read them from any thread without reaching into the runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from local.runner.host_model import failure_reason
from local.runner.store import StoredInstance

TerminalStatus = Literal["Completed", "Failed", "Terminated"]


@dataclass(frozen=True)
class RunnerEvent:
    """One step of progress. `kind` is one of:

    activity_scheduled / activity_completed / activity_failed (name, task_id; failed adds reason),
    timer_created (task_id, fire_at, seconds: the unscaled duration, retry), timer_fired (task_id, fire_at),
    sub_orchestration_scheduled / _completed / _failed (name, task_id, child_instance_id),
    custom_status (status), replayed (generation, history_length, actions), continued_as_new (generation),
    completed (output), failed (error), terminated (reason).
    """

    kind: str
    instance_id: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrchestrationResult:
    instance_id: str
    name: str
    status: TerminalStatus
    output: Any
    error: str | None
    custom_status: Any
    generations: int  # continue_as_new count + 1
    histories: list[list[dict[str, Any]]]  # each generation's history run by this call, JSON-serialisable
    replays: int  # orchestrator invocations made by this call

    @property
    def message(self) -> str | None:
        """The failure as the orchestrator raised it: `error` without the host's `Orchestrator function
        '<name>' failed: ` prefix (the status the host reports keeps it)."""
        return None if self.error is None else self.error.removeprefix(failure_reason(self.name, ""))


def terminal_status(stored: StoredInstance) -> TerminalStatus:
    if stored.status == "Running":
        raise ValueError(f"orchestration {stored.name!r} has not ended")
    return stored.status


def result_of(
    instance_id: str, stored: StoredInstance, histories: list[list[dict[str, Any]]], replays: int
) -> OrchestrationResult:
    return OrchestrationResult(
        instance_id=instance_id,
        name=stored.name,
        status=terminal_status(stored),
        output=stored.output,
        error=stored.error,
        custom_status=stored.custom_status,
        generations=stored.generation,
        histories=histories,
        replays=replays,
    )
