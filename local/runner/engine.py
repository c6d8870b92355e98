"""Run production orchestrators on one machine through the Durable SDK's own replay.

The Functions host cannot run here, so this plays its part: it keeps each
instance's history, hands it to `df.Orchestrator(fn).handle(...)` exactly as the
host would (one "episode" per batch of new events), executes the actions the
SDK asks for (activities in-process, sub-orchestrations through this same
runner, timers scaled in real time but not in orchestration time), and feeds
the results back as history events. Because the orchestrator code and the
replay logic are the production ones, what passes here replays the same way
under the host. It is for development, tests, the demo and one-off exports;
production runs on Azure Durable Functions.

Known limits: no external events, entities or durable HTTP; the retry timers
of `call_activity_with_retry` are numbered as the SDK numbers them when retried
tasks are not interleaved with other concurrent tasks.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.actions.ActionType import ActionType

from local.runner import history as h
from local.runner.clock import VirtualClock
from local.runner.store import HistoryStore, MemoryHistoryStore, StoredInstance

SCHEMA_V1 = 0  # `upperSchemaVersion` pinned: actions come back as one list of lists per yield
OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


@dataclass(frozen=True)
class RunnerEvent:
    """Progress of a run, for displays and tests."""

    kind: str
    instance_id: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrchestrationResult:
    instance_id: str
    name: str
    status: str  # Completed | Failed | Terminated
    output: Any
    error: str | None
    custom_status: Any
    generations: int
    histories: list[list[dict[str, Any]]]
    replays: int


class OrchestrationTerminated(Exception):
    """Raised inside the runner when `terminate` was called for an instance."""


@dataclass
class _Work:
    """One outstanding piece of scheduled work, kept in the store so a resume can re-submit it."""

    task_id: int
    kind: str  # activity | timer | sub
    name: str = ""
    input_json: str | None = None
    fire_at: str | None = None
    retry: dict[str, Any] | None = None  # retry options of call_activity_with_retry
    attempt: int = 1
    retry_of: dict[str, Any] | None = None  # for a retry timer: the activity to schedule after it
    instance_id: str | None = None


def replay_actions(
    fn: Callable[..., Any], events: list[dict[str, Any]], input_json: str | None, instance_id: str
) -> dict[str, Any]:
    """Replay `events` through the SDK once; the orchestrator state it returns, as a plain dict.

    A failing orchestrator comes back as `{"isDone": False, "error": ..., "actions": ...}`.
    """
    payload = {
        "history": events,
        "instanceId": instance_id,
        "isReplaying": False,
        "parentInstanceId": None,
        "input": input_json,
        "upperSchemaVersion": SCHEMA_V1,
    }
    context = df.DurableOrchestrationContext.from_json(json.dumps(payload))
    try:
        state: dict[str, Any] = json.loads(df.Orchestrator(fn).handle(context))
    except Exception as exc:  # the SDK reports an orchestrator exception this way
        message, _, data = str(exc).partition(OUT_OF_PROC_MARKER)
        state = json.loads(data) if data else {"isDone": False, "actions": []}
        state["error"] = state.get("error") or message
    return state


def flatten_actions(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [action for group in state.get("actions") or [] for action in group]


class LocalRunner:
    """Plays the Durable Functions host for orchestrations in this process."""

    def __init__(
        self,
        orchestrators: Mapping[str, Callable[..., Any]],
        activities: Mapping[str, Callable[[Any], Any]],
        *,
        timer_scale: float = 1.0,
        clock: VirtualClock | None = None,
        on_event: Callable[[RunnerEvent], None] | None = None,
        store: HistoryStore | None = None,
        max_workers: int = 16,
    ) -> None:
        if timer_scale < 0:
            raise ValueError("timer_scale must be >= 0")
        self.orchestrators = dict(orchestrators)
        self.activities = dict(activities)
        self.timer_scale = timer_scale
        self.clock = clock or VirtualClock()
        self.on_event = on_event
        self.store: HistoryStore = store or MemoryHistoryStore()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="local-runner")
        self._terminations: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- public API -----------------------------------------------------------------------------

    def run(self, name: str, input: Any, instance_id: str) -> OrchestrationResult:
        """Start (or, if it exists, resume or report) an instance and block until it ends."""
        if name not in self.orchestrators:
            raise KeyError(f"no orchestrator registered as {name!r}")
        existing = self.store.load(instance_id)
        if existing is not None:
            return self._drive(instance_id, existing)
        instance = StoredInstance(name=name, input_json=json.dumps(input))
        return self._drive(instance_id, instance)

    def resume(self, instance_id: str) -> OrchestrationResult:
        existing = self.store.load(instance_id)
        if existing is None:
            raise KeyError(f"no saved instance {instance_id!r}")
        return self._drive(instance_id, existing)

    def terminate(self, instance_id: str, reason: str) -> None:
        with self._lock:
            self._terminations[instance_id] = reason

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the host loop --------------------------------------------------------------------------

    def _drive(self, instance_id: str, inst: StoredInstance) -> OrchestrationResult:
        fn = self.orchestrators[inst.name]
        histories: list[list[dict[str, Any]]] = []
        replays = 0
        pending = {work.task_id: work for work in (_Work(**w) for w in inst.pending)}
        futures: dict[Future[dict[str, Any]], _Work] = {}
        new_events: list[dict[str, Any]] = []
        if not inst.history:
            new_events = [h.execution_started(self.clock.now(), inst.name, inst.input_json)]
        for work in pending.values():
            self._submit(instance_id, work, futures)
        while inst.status == "Running":
            if not new_events:
                new_events = self._next_completions(instance_id, inst, pending, futures)
                if inst.status != "Running":
                    self.store.save(instance_id, inst)
                    break
            replays += 1
            continued = self._episode(instance_id, fn, inst, new_events, pending, futures)
            new_events = []
            if continued is not None:
                histories.append(inst.history)
                inst.history, inst.generation, inst.input_json = [], inst.generation + 1, continued
                inst.next_task_id, inst.pending, inst.handled_actions = 0, [], 0
                pending.clear()
                new_events = [h.execution_started(self.clock.now(), inst.name, inst.input_json)]
                self._emit("continued_as_new", instance_id, generation=inst.generation)
            self.store.save(instance_id, inst)
        histories.append(inst.history)
        self._emit(inst.status.lower(), instance_id, error=inst.error)
        return OrchestrationResult(
            instance_id, inst.name, inst.status, inst.output, inst.error, inst.custom_status,
            inst.generation, histories, replays,
        )  # fmt: skip

    def _episode(
        self,
        instance_id: str,
        fn: Callable[..., Any],
        inst: StoredInstance,
        new_events: list[dict[str, Any]],
        pending: dict[int, _Work],
        futures: dict[Future[dict[str, Any]], _Work],
    ) -> str | None:
        """Replay with the new events, then act on the new actions. Returns a continue-as-new input."""
        inst.history = [*inst.history, h.orchestrator_started(self.clock.now()), *new_events]
        state = replay_actions(fn, inst.history, inst.input_json, instance_id)
        self._note_custom_status(instance_id, inst, state.get("customStatus"))
        if state.get("error"):
            inst.status, inst.error = "Failed", state["error"]
            return None
        continued: str | None = None
        actions = flatten_actions(state)
        new_actions, inst.handled_actions = actions[inst.handled_actions :], len(actions)
        for action in new_actions:
            if action["actionType"] == ActionType.CONTINUE_AS_NEW:
                continued = action.get("input")
            else:
                self._schedule(instance_id, inst, action, pending, futures)
        inst.history.append(h.orchestrator_completed(self.clock.now()))
        inst.pending = [vars(work) for work in pending.values()]
        if state.get("isDone") and continued is None:
            inst.status, inst.output = "Completed", state.get("output")
        return continued

    def _note_custom_status(self, instance_id: str, inst: StoredInstance, status: Any) -> None:
        if status != inst.custom_status:
            inst.custom_status = status
            self._emit("custom_status", instance_id, status=status)

    # -- scheduling -----------------------------------------------------------------------------

    def _schedule(
        self,
        instance_id: str,
        inst: StoredInstance,
        action: dict[str, Any],
        pending: dict[int, _Work],
        futures: dict[Future[dict[str, Any]], _Work],
    ) -> None:
        kind = action["actionType"]
        task_id = inst.next_task_id
        inst.next_task_id += 1
        now = self.clock.now()
        if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
            work = _Work(
                task_id, "activity", action["functionName"], action.get("input"), retry=action.get("retryOptions")
            )
            inst.history.append(h.task_scheduled(now, task_id, work.name, work.input_json))
            self._emit("activity_scheduled", instance_id, name=work.name, task_id=task_id)
        elif kind == ActionType.CREATE_TIMER:
            work = _Work(task_id, "timer", fire_at=action["fireAt"])
            inst.history.append(h.timer_created(now, task_id, action["fireAt"]))
            self._emit(
                "timer_created", instance_id, fire_at=action["fireAt"], seconds=self._seconds_until(action["fireAt"])
            )
        elif kind == ActionType.CALL_SUB_ORCHESTRATOR:
            child_id = action.get("instanceId") or f"{instance_id}:{task_id}"
            work = _Work(task_id, "sub", action["functionName"], action.get("input"), instance_id=child_id)
            inst.history.append(h.sub_orchestration_created(now, task_id, work.name, child_id))
        else:
            raise NotImplementedError(f"the local runner does not support action type {kind}")
        pending[task_id] = work
        self._submit(instance_id, work, futures)

    def _submit(self, instance_id: str, work: _Work, futures: dict[Future[dict[str, Any]], _Work]) -> None:
        if work.kind == "activity":
            futures[self._pool.submit(self._run_activity, work)] = work
        elif work.kind == "sub":
            # A thread of its own: a child waits on its own activities, which need pool workers.
            future: Future[dict[str, Any]] = Future()
            threading.Thread(target=lambda: future.set_result(self._run_sub(work)), daemon=True).start()
            futures[future] = work

    def _run_activity(self, work: _Work) -> dict[str, Any]:
        function = self.activities.get(work.name)
        try:
            if function is None:
                raise KeyError(f"no activity registered as {work.name!r}")
            result = function(json.loads(work.input_json) if work.input_json is not None else None)
            return {"ok": True, "result": json.dumps(result)}
        except Exception as exc:
            return {"ok": False, "reason": f"{type(exc).__name__}: {exc}", "details": traceback.format_exc(limit=5)}

    def _run_sub(self, work: _Work) -> dict[str, Any]:
        assert work.instance_id is not None
        child_input = json.loads(work.input_json) if work.input_json is not None else None
        result = self.run(work.name, child_input, work.instance_id)
        if result.status == "Completed":
            return {"ok": True, "result": json.dumps(result.output)}
        return {"ok": False, "reason": result.error or result.status, "details": ""}

    # -- waiting for completions ----------------------------------------------------------------

    def _seconds_until(self, fire_at: str) -> float:
        return max(0.0, (datetime.fromisoformat(fire_at.replace("Z", "+00:00")) - self.clock.now()).total_seconds())

    def _next_completions(
        self,
        instance_id: str,
        inst: StoredInstance,
        pending: dict[int, _Work],
        futures: dict[Future[dict[str, Any]], _Work],
    ) -> list[dict[str, Any]]:
        """Block until at least one piece of work finished; its history events."""
        if not pending:
            raise RuntimeError(f"orchestration {instance_id} is waiting for nothing (external events unsupported)")
        real_due = {
            work.task_id: time.monotonic() + self._seconds_until(work.fire_at) * self.timer_scale
            for work in pending.values()
            if work.kind == "timer" and work.fire_at
        }
        while True:
            reason = self._terminations.get(instance_id)
            if reason is not None:
                inst.status, inst.error = "Terminated", reason
                return []
            events = self._fired_timers(instance_id, inst, pending, real_due, futures)
            events += self._finished_work(instance_id, inst, pending, futures)
            if events:
                return events
            next_timer = min(real_due.values(), default=time.monotonic() + 0.05)
            timeout = max(0.0, min(0.05, next_timer - time.monotonic()))
            if futures:
                wait(list(futures), timeout=timeout, return_when=FIRST_COMPLETED)
            else:
                time.sleep(timeout)

    def _fired_timers(
        self,
        instance_id: str,
        inst: StoredInstance,
        pending: dict[int, _Work],
        real_due: dict[int, float],
        futures: dict[Future[dict[str, Any]], _Work],
    ) -> list[dict[str, Any]]:
        events = []
        for task_id, due in sorted(real_due.items(), key=lambda item: item[1]):
            if due > time.monotonic():
                continue
            work = pending.pop(task_id)
            del real_due[task_id]
            assert work.fire_at is not None
            self.clock.advance_to(datetime.fromisoformat(work.fire_at.replace("Z", "+00:00")))
            events.append(h.timer_fired(self.clock.now(), task_id, work.fire_at))
            self._emit("timer_fired", instance_id, task_id=task_id)
            if work.retry_of is not None:
                self._submit(instance_id, self._reschedule(inst, work, pending), futures)
        return events

    def _finished_work(
        self,
        instance_id: str,
        inst: StoredInstance,
        pending: dict[int, _Work],
        futures: dict[Future[dict[str, Any]], _Work],
    ) -> list[dict[str, Any]]:
        events = []
        for future in [f for f in futures if f.done()]:
            work = futures.pop(future)
            pending.pop(work.task_id, None)
            events.extend(self._completion_events(instance_id, inst, work, future.result(), pending))
        return events

    def _completion_events(
        self, instance_id: str, inst: StoredInstance, work: _Work, outcome: dict[str, Any], pending: dict[int, _Work]
    ) -> list[dict[str, Any]]:
        now = self.clock.now()
        if work.kind == "sub":
            if outcome["ok"]:
                return [h.sub_orchestration_completed(now, work.task_id, outcome["result"])]
            return [h.sub_orchestration_failed(now, work.task_id, outcome["reason"], outcome["details"])]
        if outcome["ok"]:
            self._emit("activity_completed", instance_id, name=work.name, task_id=work.task_id)
            return [h.task_completed(now, work.task_id, outcome["result"])]
        self._emit("activity_failed", instance_id, name=work.name, task_id=work.task_id, reason=outcome["reason"])
        events = [h.task_failed(now, work.task_id, outcome["reason"], outcome["details"])]
        if work.retry is not None:
            self._retry_timer(inst, work, pending, now)
        return events

    def _retry_timer(self, inst: StoredInstance, work: _Work, pending: dict[int, _Work], now: datetime) -> None:
        """The host's retry of `call_activity_with_retry`: a timer after every failed attempt."""
        assert work.retry is not None
        attempts = int(work.retry.get("maxNumberOfAttempts", 1))
        delay_ms = int(work.retry.get("firstRetryIntervalInMilliseconds", 1000)) * 2 ** (work.attempt - 1)
        delay_ms = 0 if work.attempt >= attempts else delay_ms
        fire_at = h.iso(datetime.fromtimestamp(now.timestamp() + delay_ms / 1000, tz=now.tzinfo))
        timer_id = inst.next_task_id
        inst.next_task_id += 1
        retry_of = None if work.attempt >= attempts else vars(work)
        pending[timer_id] = _Work(timer_id, "timer", fire_at=fire_at, retry_of=retry_of)
        inst.history.append(h.timer_created(now, timer_id, fire_at))

    def _reschedule(self, inst: StoredInstance, timer: _Work, pending: dict[int, _Work]) -> _Work:
        assert timer.retry_of is not None
        previous = _Work(**timer.retry_of)
        task_id = inst.next_task_id
        inst.next_task_id += 1
        work = _Work(task_id, "activity", previous.name, previous.input_json, retry=previous.retry)
        work.attempt = previous.attempt + 1
        pending[task_id] = work
        inst.history.append(h.task_scheduled(self.clock.now(), task_id, work.name, work.input_json))
        return work

    def _emit(self, kind: str, instance_id: str, **detail: Any) -> None:
        if self.on_event is not None:
            self.on_event(RunnerEvent(kind, instance_id, detail))
