"""The host's loop for one orchestration instance: replay, record, start work, wait, repeat.

Each step appends an episode to the history the way the host does
(`OrchestratorStarted`, the new results, what the replay scheduled,
`OrchestratorCompleted`), saves it, and only then starts the new work, so a
crash never leaves work running that the saved history does not know about.
Results of activities and sub-orchestrations arrive on a queue from other
threads in the order they finish; everything that has arrived when the loop
wakes goes into the next episode, so `task_any` sees the real first finisher.
Timers are waited for here, scaled, against the shared virtual clock.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from local.runner import history as h
from local.runner.clock import VirtualClock
from local.runner.replay import Decision, Orchestrator, replay
from local.runner.results import OrchestrationResult, result_of
from local.runner.store import HistoryStore, Status, StoredInstance
from local.runner.work import ActivityWork, ChildWork, TimerWork, Work, outstanding, scheduling_event

POLL_SECONDS = 0.2  # longest sleep between checks that no other thread of the runner crashed
STUCK = (
    "the orchestration is waiting for something the local runner cannot deliver "
    "(external events, entities and durable HTTP are not supported)"
)

Deliver = Callable[[int, "h.Event | BaseException"], None]


@dataclass(frozen=True)
class _Outcome:
    generation: int
    task_id: int
    event: h.Event


@dataclass(frozen=True)
class _Crash:
    error: BaseException


@dataclass(frozen=True)
class _Termination:
    reason: str


@dataclass(frozen=True)
class _Stop:
    """The runner is closing: leave the saved state as it is."""


_Item = _Outcome | _Crash | _Termination | _Stop


class RunnerClosed(Exception):
    """The runner was closed while this instance was waiting; it stays Running in the store."""


class Host(Protocol):
    """What an instance loop needs from the runner that owns it."""

    clock: VirtualClock
    timer_scale: float
    store: HistoryStore

    @property
    def crash(self) -> BaseException | None: ...

    def emit(self, kind: str, instance_id: str, **detail: Any) -> None: ...

    def orchestrator(self, name: str) -> Orchestrator: ...

    def start_activity(self, work: ActivityWork, deliver: Deliver) -> None: ...

    def start_child(self, work: ChildWork, parent_id: str, deliver: Deliver, fresh: bool) -> None: ...


def close_outside_step(stored: StoredInstance, status: Status, at: datetime, error: str) -> None:
    """End a waiting instance (terminated, or stuck) with an episode of its own."""
    stored.history.append(h.orchestrator_started(at))
    if status == "Terminated":
        stored.history.append(h.execution_terminated(at, error))
    stored.history += [h.execution_completed(at, status, json.dumps(error)), h.orchestrator_completed(at)]
    stored.status, stored.error = status, error


class InstanceRun:
    def __init__(self, host: Host, instance_id: str, stored: StoredInstance) -> None:
        self.host = host
        self.instance_id = instance_id
        self.stored = stored
        self.fn = host.orchestrator(stored.name)
        self.inbox: queue.Queue[_Item] = queue.Queue()
        self.pending: dict[int, Work] = {}
        self.timer_due: dict[int, float] = {}  # task id -> time.monotonic() at which it fires
        self.histories: list[list[h.Event]] = []
        self.replays = 0

    def request_termination(self, reason: str) -> None:
        """Thread-safe; takes effect at the next wait (timers, results) or between steps."""
        self.inbox.put(_Termination(reason))

    def request_stop(self) -> None:
        """Thread-safe; the loop raises `RunnerClosed` at its next wait, saving nothing more."""
        self.inbox.put(_Stop())

    def run(self) -> OrchestrationResult:
        events = self._opening_events()
        while self.stored.status == "Running":
            events = events or self._wait()
            if self.stored.status == "Running":
                events = self._step(events)
        self.histories.append(self.stored.history)
        self._emit_end()
        return result_of(self.instance_id, self.stored, self.histories, self.replays)

    # -- steps ----------------------------------------------------------------------------------

    def _opening_events(self) -> list[h.Event]:
        history = self.stored.history
        if not history:
            return [self._execution_started()]
        self.host.clock.advance_to(h.parse_time(history[-1]["Timestamp"]))  # a resumed clock never runs back
        self._start(outstanding(history), fresh=False)
        return []

    def _execution_started(self) -> h.Event:
        stored = self.stored
        return h.execution_started(
            self.host.clock.now(), stored.name, stored.input, self.instance_id, stored.parent_instance_id
        )

    def _step(self, events: list[h.Event]) -> list[h.Event]:
        now = self.host.clock.now()
        stored = self.stored
        stored.history += [h.orchestrator_started(now), *events]
        decision = replay(
            self.fn, stored.history, stored.input, self.instance_id, stored.parent_instance_id, stored.name
        )
        self.replays += 1
        if decision.custom_status_accepted:
            self._note_custom_status(decision.custom_status)
        work = self._record(decision, now)
        self._emit(
            "replayed", generation=stored.generation, history_length=len(stored.history), actions=decision.actions
        )
        continuing = stored.status == "Running" and decision.status == "ContinuedAsNew"
        next_events = self._roll_over(decision.new_input) if continuing else []
        self._save()
        self._start(work, fresh=True)
        return next_events

    def _record(self, decision: Decision, now: datetime) -> list[Work]:
        """Append what the replay decided to the history; the work to start."""
        if decision.status == "Failed":
            self._end(now, "Failed", error=decision.error)
        elif decision.status == "ContinuedAsNew":
            self.stored.history += [h.continued_as_new(now, decision.new_input), h.orchestrator_completed(now)]
        elif decision.status == "Completed":
            self._end(now, "Completed", output=decision.output)
        else:
            self._schedule(decision, now)
            return decision.new_work
        return []

    def _schedule(self, decision: Decision, now: datetime) -> None:
        for work in decision.new_work:
            self.stored.history.append(scheduling_event(work, now))
            self._announce(work, now)
        self.stored.history.append(h.orchestrator_completed(now))

    def _end(self, now: datetime, status: Status, output: Any = None, error: str | None = None) -> None:
        result = json.dumps(output) if error is None else json.dumps(error)
        self.stored.history += [h.execution_completed(now, status, result), h.orchestrator_completed(now)]
        self.stored.status, self.stored.output, self.stored.error = status, output, error

    def _roll_over(self, new_input: str | None) -> list[h.Event]:
        """Continue as new: a fresh history for the same instance id; results of the old generation are dropped."""
        self.histories.append(self.stored.history)
        self.stored.history, self.stored.input = [], new_input
        self.stored.generation += 1
        self.pending.clear()
        self.timer_due.clear()
        self._emit("continued_as_new", generation=self.stored.generation)
        return [self._execution_started()]

    def _note_custom_status(self, status: Any) -> None:
        if status != self.stored.custom_status:
            self.stored.custom_status = status
            self._emit("custom_status", status=status)

    def _stop_if_crashed(self) -> None:
        """Another thread of the runner died: stop unsaved, as every thread of a dying process would."""
        if self.host.crash is not None:
            raise self.host.crash

    def _save(self) -> None:
        self._stop_if_crashed()
        self.host.store.save(self.instance_id, self.stored)

    # -- work -----------------------------------------------------------------------------------

    def _start(self, items: list[Work], fresh: bool) -> None:
        deliver = self._deliverer()
        for work in items:
            self.pending[work.task_id] = work
            if isinstance(work, ActivityWork):
                self.host.start_activity(work, deliver)
            elif isinstance(work, TimerWork):
                self._arm(work)
            else:
                self.host.start_child(work, self.instance_id, deliver, fresh)

    def _deliverer(self) -> Deliver:
        generation = self.stored.generation

        def deliver(task_id: int, outcome: h.Event | BaseException) -> None:
            item = _Crash(outcome) if isinstance(outcome, BaseException) else _Outcome(generation, task_id, outcome)
            self.inbox.put(item)

        return deliver

    def _arm(self, work: TimerWork) -> None:
        remaining = max(0.0, (work.due - self.host.clock.now()).total_seconds())
        self.timer_due[work.task_id] = time.monotonic() + remaining * self.host.timer_scale

    # -- waiting --------------------------------------------------------------------------------

    def _wait(self) -> list[h.Event]:
        """Block until at least one result is in; its events (empty if the instance ended meanwhile)."""
        while True:
            self._stop_if_crashed()
            events = self._fire_due_timers()
            if not events and not self.pending:
                close_outside_step(self.stored, "Failed", self.host.clock.now(), STUCK)
                self._save()
                return []
            item = self._next_item(block=not events)
            while item is not None:
                events += self._take(item)
                if self.stored.status != "Running":
                    return []
                item = self._next_item(block=False)
            if events:
                return events

    def _next_item(self, block: bool) -> _Item | None:
        try:
            if not block:
                return self.inbox.get_nowait()
            next_due = min(self.timer_due.values(), default=time.monotonic() + POLL_SECONDS)
            return self.inbox.get(timeout=min(POLL_SECONDS, max(0.0, next_due - time.monotonic())))
        except queue.Empty:
            return None

    def _take(self, item: _Item) -> list[h.Event]:
        if isinstance(item, _Crash):
            raise item.error
        if isinstance(item, _Termination):
            self._terminate(item.reason)
            return []
        if isinstance(item, _Stop):
            raise RunnerClosed(f"the local runner was closed while {self.instance_id!r} was waiting")
        if item.generation != self.stored.generation or item.task_id not in self.pending:
            return []  # a result of an earlier generation
        self._announce_result(self.pending.pop(item.task_id), item.event)
        return [item.event]

    def _fire_due_timers(self) -> list[h.Event]:
        now = time.monotonic()
        due = sorted((at, task_id) for task_id, at in self.timer_due.items() if at <= now)
        events = []
        for _, task_id in due:
            work = self.pending.pop(task_id)
            del self.timer_due[task_id]
            assert isinstance(work, TimerWork)
            self.host.clock.advance_to(work.due)
            events.append(h.timer_fired(self.host.clock.now(), task_id, work.fire_at))
            self._emit("timer_fired", task_id=task_id, fire_at=work.fire_at)
        return events

    def _terminate(self, reason: str) -> None:
        """As the host does: this instance only; its sub-orchestrations keep running (no cascade)."""
        self.pending.clear()
        self.timer_due.clear()
        close_outside_step(self.stored, "Terminated", self.host.clock.now(), reason)
        self._save()

    # -- progress -------------------------------------------------------------------------------

    def _emit(self, kind: str, **detail: Any) -> None:
        self.host.emit(kind, self.instance_id, **detail)

    def _announce(self, work: Work, now: datetime) -> None:
        if isinstance(work, ActivityWork):
            self._emit("activity_scheduled", name=work.name, task_id=work.task_id)
        elif isinstance(work, TimerWork):
            seconds = (work.due - now).total_seconds()
            self._emit("timer_created", task_id=work.task_id, fire_at=work.fire_at, seconds=seconds, retry=work.retry)
        else:
            child = {"name": work.name, "task_id": work.task_id, "child_instance_id": work.instance_id}
            self._emit("sub_orchestration_scheduled", **child)

    def _announce_result(self, work: Work, event: h.Event) -> None:
        failed = "Reason" in event
        if isinstance(work, ActivityWork):
            kind = "activity_failed" if failed else "activity_completed"
            extra = {"reason": event["Reason"]} if failed else {}
            self._emit(kind, name=work.name, task_id=work.task_id, **extra)
        elif isinstance(work, ChildWork):
            kind = "sub_orchestration_failed" if failed else "sub_orchestration_completed"
            self._emit(kind, name=work.name, task_id=work.task_id, child_instance_id=work.instance_id)

    def _emit_end(self) -> None:
        stored = self.stored
        if stored.status == "Completed":
            self._emit("completed", output=stored.output)
        elif stored.status == "Terminated":
            self._emit("terminated", reason=stored.error)
        else:
            self._emit("failed", error=stored.error)
