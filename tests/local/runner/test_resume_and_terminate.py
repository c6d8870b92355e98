"""A run survives a crash through its saved history, and can be ended from another thread."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from local.runner import LocalRunner, MemoryHistoryStore, RunnerClosed, RunnerEvent

Context = Any


class ProcessDied(BaseException):
    """Stands in for the process dying mid-activity: not an `Exception`, so not a task failure."""


class Recorder:
    """Counts activity calls; crashes once on the named step."""

    def __init__(self, crash_on: str | None = None) -> None:
        self.calls: list[str] = []
        self.crash_on = crash_on
        self._lock = threading.Lock()

    def __call__(self, step: str) -> str:
        with self._lock:
            self.calls.append(step)
            crash = step == self.crash_on
            if crash:
                self.crash_on = None
        if crash:
            raise ProcessDied(step)
        return step


def three_steps(ctx: Context) -> Any:
    done = []
    for step in ("a", "b", "c"):
        done.append((yield ctx.call_activity("record", step)))
    return done


def test_resume_after_a_crash_does_not_rerun_activities_that_completed() -> None:
    store, record = MemoryHistoryStore(), Recorder(crash_on="c")
    with pytest.raises(ProcessDied):
        LocalRunner({"o": three_steps}, {"record": record}, store=store).run("o", None, "i")
    saved = store.load("i")
    assert saved is not None
    assert saved.status == "Running"

    result = LocalRunner({"o": three_steps}, {"record": record}, store=store).resume("i")
    assert result.output == ["a", "b", "c"]
    assert record.calls == ["a", "b", "c", "c"]


def fan_out_parent(ctx: Context) -> Any:
    return (yield ctx.task_all([ctx.call_sub_orchestrator("steps", None, f"kid{n}") for n in range(2)]))


def steps(ctx: Context) -> Any:
    first = yield ctx.call_activity("record", f"{ctx.instance_id}-1")
    second = yield ctx.call_activity("record", f"{ctx.instance_id}-2")
    return [first, second]


def test_a_crash_inside_a_child_resumes_through_the_parent_without_redoing_finished_work() -> None:
    store, record = MemoryHistoryStore(), Recorder(crash_on="kid1-2")
    orchestrators = {"parent": fan_out_parent, "steps": steps}
    with pytest.raises(ProcessDied):
        LocalRunner(orchestrators, {"record": record}, store=store).run("parent", None, "p")
    time.sleep(0.3)  # let the other child's thread notice the crash and stop unsaved
    result = LocalRunner(orchestrators, {"record": record}, store=store).resume("p")
    assert result.output == [["kid0-1", "kid0-2"], ["kid1-1", "kid1-2"]]
    assert record.calls.count("kid1-1") == 1
    assert record.calls.count("kid1-2") == 2


def test_running_an_instance_id_that_already_completed_returns_its_result_without_running_again() -> None:
    record = Recorder()
    runner = LocalRunner({"o": three_steps}, {"record": record})
    first = runner.run("o", None, "i")
    second = runner.run("o", None, "i")
    assert second.output == first.output == ["a", "b", "c"]
    assert record.calls == ["a", "b", "c"]
    assert second.replays == 0


def long_wait(ctx: Context) -> Any:
    yield ctx.create_timer(ctx.current_utc_datetime + timedelta(hours=1))
    return "woke up"


def test_terminate_from_another_thread_ends_a_waiting_run_promptly() -> None:
    seen: list[RunnerEvent] = []
    runner = LocalRunner({"o": long_wait}, {}, timer_scale=1.0, on_event=seen.append)
    threading.Timer(0.2, runner.terminate, args=("i", "operator cancelled")).start()
    began = time.monotonic()
    result = runner.run("o", None, "i")
    assert time.monotonic() - began < 2
    assert (result.status, result.error, result.output) == ("Terminated", "operator cancelled", None)
    assert seen[-1].kind == "terminated"


def test_terminating_a_parent_leaves_its_children_running_as_the_host_does() -> None:
    store = MemoryHistoryStore()

    def parent(ctx: Context) -> Any:
        return (yield ctx.call_sub_orchestrator("long_wait", None, "kid"))

    runner = LocalRunner({"parent": parent, "long_wait": long_wait}, {}, store=store)
    threading.Timer(0.2, runner.terminate, args=("p", "stop")).start()
    assert runner.run("parent", None, "p").status == "Terminated"
    time.sleep(0.3)
    kid = store.load("kid")
    assert kid is not None
    assert kid.status == "Running"
    runner.close()


def test_closing_the_runner_leaves_waiting_instances_running_and_resumable() -> None:
    store = MemoryHistoryStore()

    def parent(ctx: Context) -> Any:
        return (yield ctx.call_sub_orchestrator("long_wait", None, "kid"))

    orchestrators = {"parent": parent, "long_wait": long_wait}
    runner = LocalRunner(orchestrators, {}, store=store, timer_scale=1.0)
    threading.Timer(0.3, runner.close).start()
    with pytest.raises(RunnerClosed):
        runner.run("parent", None, "p")
    time.sleep(0.3)
    assert [store.load(i).status for i in ("p", "kid")] == ["Running", "Running"]  # type: ignore[union-attr]
    resumed = LocalRunner(orchestrators, {}, store=store, timer_scale=0.0001).resume("p")
    assert (resumed.status, resumed.output) == ("Completed", "woke up")


def test_terminating_a_saved_instance_that_is_not_running_marks_it_terminated() -> None:
    store = MemoryHistoryStore()
    with pytest.raises(ProcessDied):
        LocalRunner({"o": three_steps}, {"record": Recorder(crash_on="b")}, store=store).run("o", None, "i")
    runner = LocalRunner({"o": three_steps}, {"record": Recorder()}, store=store)
    runner.terminate("i", "abandoned")
    result = runner.resume("i")
    assert (result.status, result.error) == ("Terminated", "abandoned")
