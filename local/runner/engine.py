"""Run production orchestrators on one machine by playing the Durable Functions host around the SDK.

The Functions host cannot run here, so `LocalRunner` plays its part: it keeps
each instance's history, replays it through the SDK's own entry point, reads the
returned actions as the host's shim and DurableTask.Core would (`host_model`),
runs the activities that yields in a thread pool, runs sub-orchestrations as
instances of their own (each in a thread, so children started together really
race), fires timers in scaled real time on a virtual clock, and saves after
every step so a crashed run can resume. Because the orchestrator code and the
replay logic are the production ones, what passes here replays the same way
under the host. It is for development, tests, the demo and one-off exports;
production runs on Azure Durable Functions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import TracebackType
from typing import Any

from local.runner.calls import Activity, UnknownFunction, call_activity, child_event, child_not_started
from local.runner.clock import VirtualClock
from local.runner.instance import Deliver, InstanceRun, RunnerClosed, close_outside_step
from local.runner.replay import Orchestrator
from local.runner.results import OrchestrationResult, RunnerEvent, result_of
from local.runner.store import HistoryStore, MemoryHistoryStore, StoredInstance
from local.runner.work import ActivityWork, ChildWork

ACTIVITY_THREADS = 16


class LocalRunner:
    """Plays the Durable Functions host for orchestrations in this process. Thread-safe."""

    def __init__(
        self,
        orchestrators: Mapping[str, Callable[..., Any]],
        activities: Mapping[str, Callable[[Any], Any]],
        *,
        timer_scale: float = 1.0,
        clock: Callable[[], datetime] | None = None,
        on_event: Callable[[RunnerEvent], None] | None = None,
        store: HistoryStore | None = None,
    ) -> None:
        if timer_scale < 0:
            raise ValueError("timer_scale must be >= 0")
        self._orchestrators: dict[str, Orchestrator] = dict(orchestrators)
        self._activities: dict[str, Activity] = dict(activities)
        self.timer_scale = timer_scale
        self.clock = VirtualClock(clock)
        self.store: HistoryStore = store if store is not None else MemoryHistoryStore()
        self._on_event = on_event
        self._pool = ThreadPoolExecutor(max_workers=ACTIVITY_THREADS, thread_name_prefix="local-runner-activity")
        self._active: dict[str, InstanceRun] = {}
        self._lock = threading.Lock()
        self._crash: BaseException | None = None
        self._closed = False

    # -- public API -----------------------------------------------------------------------------

    @property
    def function_names(self) -> dict[str, frozenset[str]]:
        """The names this runner can run, as the host's trigger types: what it was given, nothing more."""
        return {"orchestrationTrigger": frozenset(self._orchestrators), "activityTrigger": frozenset(self._activities)}

    def run(self, name: str, input: Any, instance_id: str) -> OrchestrationResult:
        """Start `name` as `instance_id` and block until it ends.

        An instance id already in the store is not started twice: an ended instance returns its saved
        result, one that was cut short resumes.
        """
        self.orchestrator(name)
        stored = self.store.load(instance_id)
        if stored is not None:
            return self._continue(instance_id, stored)
        return self._drive(instance_id, StoredInstance(name=name, input=json.dumps(input)))

    def resume(self, instance_id: str) -> OrchestrationResult:
        """Continue a saved instance (after a crash) from its history, without redoing recorded work."""
        stored = self.store.load(instance_id)
        if stored is None:
            raise KeyError(f"no saved instance {instance_id!r}")
        return self._continue(instance_id, stored)

    def terminate(self, instance_id: str, reason: str) -> None:
        """End an instance as Terminated; callable from any thread. A running one stops at its next wait.

        Only that instance: as in the host, its sub-orchestrations keep running and report to a parent that
        no longer listens."""
        with self._lock:
            active = self._active.get(instance_id)
        if active is not None:
            active.request_termination(reason)
            return
        stored = self.store.load(instance_id)
        if stored is None:
            raise KeyError(f"no instance {instance_id!r}")
        if stored.status == "Running":
            close_outside_step(stored, "Terminated", self.clock.now(), reason)
            self.store.save(instance_id, stored)

    def close(self) -> None:
        """The process going away, not a termination: every loop stops at its next wait without saving more,
        so what is still Running in the store (e.g. a child that lost a `task_any`) stays Running and resumable.
        A `run` still blocked in another thread raises `RunnerClosed`."""
        with self._lock:
            self._closed = True
            active = list(self._active.values())
        for run in active:
            run.request_stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> LocalRunner:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # -- what instance loops use (the `Host` protocol) ------------------------------------------

    @property
    def crash(self) -> BaseException | None:
        """What killed the runner (not an `Exception`: KeyboardInterrupt, SystemExit...), if anything did."""
        return self._crash

    def emit(self, kind: str, instance_id: str, **detail: Any) -> None:
        if self._on_event is not None:
            self._on_event(RunnerEvent(kind, instance_id, detail))

    def orchestrator(self, name: str) -> Orchestrator:
        try:
            return self._orchestrators[name]
        except KeyError:
            raise UnknownFunction(f"no orchestrator function named {name!r} is registered") from None

    def start_activity(self, work: ActivityWork, deliver: Deliver) -> None:
        self._pool.submit(self._activity_thread, self._activities.get(work.name), work, deliver)

    def start_child(self, work: ChildWork, parent_id: str, deliver: Deliver, fresh: bool) -> None:
        """Run a sub-orchestration as its own instance in its own thread; its end is delivered to the parent.

        `fresh` (newly scheduled) starts it over even if the store has an old instance of that id;
        otherwise (the parent resumed) a saved child resumes or reports how it ended.
        """
        try:
            stored = self._child_instance(work, parent_id, fresh)
            run = self._register(work.instance_id, stored) if stored.status == "Running" else None
        except Exception as exc:
            deliver(work.task_id, child_not_started(work, exc, self.clock.now()))
            return
        if run is None:
            deliver(work.task_id, child_event(work, result_of(work.instance_id, stored, [], 0), self.clock.now()))
            return
        name = f"local-runner-{work.instance_id}"
        threading.Thread(target=self._child_thread, args=(run, work, deliver), name=name, daemon=True).start()

    # -- internals ------------------------------------------------------------------------------

    def _continue(self, instance_id: str, stored: StoredInstance) -> OrchestrationResult:
        if stored.status != "Running":
            return result_of(instance_id, stored, [stored.history], 0)
        return self._drive(instance_id, stored)

    def _drive(self, instance_id: str, stored: StoredInstance) -> OrchestrationResult:
        return self._execute(self._register(instance_id, stored))

    def _register(self, instance_id: str, stored: StoredInstance) -> InstanceRun:
        if self._crash is not None:
            raise RuntimeError(f"this runner crashed ({self._crash!r}); resume with a new LocalRunner")
        with self._lock:
            if self._closed:
                raise RunnerClosed(f"this runner was closed; resume {instance_id!r} with a new LocalRunner")
            if instance_id in self._active:
                raise RuntimeError(f"instance {instance_id!r} is already running")
            run = InstanceRun(self, instance_id, stored)
            self._active[instance_id] = run
        return run

    def _execute(self, run: InstanceRun) -> OrchestrationResult:
        try:
            return run.run()
        except BaseException as exc:
            self._note_crash(exc)
            raise
        finally:
            with self._lock:
                self._active.pop(run.instance_id, None)

    def _note_crash(self, exc: BaseException) -> None:
        """Anything but an `Exception` is the process dying: every loop of this runner stops unsaved."""
        if not isinstance(exc, Exception) and self._crash is None:
            self._crash = exc

    def _child_instance(self, work: ChildWork, parent_id: str, fresh: bool) -> StoredInstance:
        self.orchestrator(work.name)
        saved = None if fresh else self.store.load(work.instance_id)
        return saved or StoredInstance(name=work.name, input=work.input_json, parent_instance_id=parent_id)

    def _child_thread(self, run: InstanceRun, work: ChildWork, deliver: Deliver) -> None:
        try:
            result = self._execute(run)
        except BaseException as exc:  # the parent re-raises it: a crash anywhere ends the whole run
            deliver(work.task_id, exc)
            return
        deliver(work.task_id, child_event(work, result, self.clock.now()))

    def _activity_thread(self, function: Activity | None, work: ActivityWork, deliver: Deliver) -> None:
        try:
            event = call_activity(function, work, self.clock.now)
        except BaseException as exc:
            self._note_crash(exc)
            deliver(work.task_id, exc)
            return
        deliver(work.task_id, event)
