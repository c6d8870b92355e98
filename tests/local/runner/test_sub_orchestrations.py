"""Sub-orchestrations run as instances of their own, concurrently, and race for real under `task_any`."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from local.runner import LocalRunner, MemoryHistoryStore

Context = Any


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def napping_child(ctx: Context) -> Any:
    return (yield ctx.call_activity("nap", ctx.get_input()))


def failing_child(ctx: Context) -> Any:
    yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=1))
    raise ValueError(f"child {ctx.instance_id} broke")


def test_children_scheduled_together_run_concurrently() -> None:
    def parent(ctx: Context) -> Any:
        return (yield ctx.task_all([ctx.call_sub_orchestrator("child", 0.3) for _ in range(4)]))

    began = time.monotonic()
    result = LocalRunner({"parent": parent, "child": napping_child}, {"nap": nap}).run("parent", None, "p")
    assert result.output == [0.3] * 4
    assert time.monotonic() - began < 0.3 * 4 - 0.2


def test_task_any_over_children_returns_the_one_that_finished_first_not_the_first_listed() -> None:
    def parent(ctx: Context) -> Any:
        slow_then_fast = [ctx.call_sub_orchestrator("child", s, f"c{s}") for s in (0.4, 0.05, 0.2)]
        first = yield ctx.task_any(slow_then_fast)
        return first.result

    runner = LocalRunner({"parent": parent, "child": napping_child}, {"nap": nap})
    assert runner.run("parent", None, "p").output == 0.05


def test_a_child_has_its_own_instance_history_and_the_parent_records_its_creation() -> None:
    store = MemoryHistoryStore()

    def parent(ctx: Context) -> Any:
        return (yield ctx.call_sub_orchestrator("child", 0, "kid"))

    result = LocalRunner({"parent": parent, "child": napping_child}, {"nap": nap}, store=store).run("parent", None, "p")
    created = [e for e in result.histories[0] if e["EventType"] == 7]
    assert [(e["Name"], e["InstanceId"]) for e in created] == [("child", "kid")]
    kid = store.load("kid")
    assert kid is not None
    assert (kid.status, kid.parent_instance_id, kid.output) == ("Completed", "p", 0)


def test_an_unnamed_child_gets_an_instance_id_derived_from_its_parent() -> None:
    store = MemoryHistoryStore()

    def parent(ctx: Context) -> Any:
        return (yield ctx.call_sub_orchestrator("child", 0))

    LocalRunner({"parent": parent, "child": napping_child}, {"nap": nap}, store=store).run("parent", None, "p")
    assert sorted(store.instance_ids()) == ["p", "p:0"]


def test_a_failing_child_raises_a_catchable_error_with_its_message_in_the_parent() -> None:
    def parent(ctx: Context) -> Any:
        try:
            yield ctx.call_sub_orchestrator("child", None, "kid")
        except Exception as exc:
            return str(exc)
        return "no error"

    result = LocalRunner({"parent": parent, "child": failing_child}, {}, timer_scale=0.0001).run("parent", None, "p")
    assert result.output.startswith("Orchestrator function 'child' failed: child kid broke")


def test_a_child_of_an_unregistered_orchestrator_fails_in_the_parent() -> None:
    def parent(ctx: Context) -> Any:
        return (yield ctx.call_sub_orchestrator("nobody", None))

    result = LocalRunner({"parent": parent}, {}).run("parent", None, "p")
    assert result.status == "Failed"
    assert "no orchestrator function named 'nobody'" in (result.error or "")


def test_children_keep_at_most_k_in_flight_by_refilling_on_each_finish() -> None:
    """The pattern of a bounded fan-out: start K, and start one more each time `task_any` returns."""
    in_flight: list[int] = []
    peak: list[int] = []

    def tracked(seconds: float) -> float:
        in_flight.append(1)
        peak.append(len(in_flight))
        time.sleep(seconds)
        in_flight.pop()
        return seconds

    def parent(ctx: Context) -> Any:
        waiting = [ctx.call_sub_orchestrator("child", 0.02 * (i % 3 + 1)) for i in range(8)]
        running, done = waiting[:3], []
        queue = waiting[3:]
        while running:
            finished = yield ctx.task_any(running)
            running.remove(finished)
            done.append(finished.result)
            if queue:
                running.append(queue.pop(0))
        return len(done)

    runner = LocalRunner({"parent": parent, "child": napping_child}, {"nap": tracked})
    assert runner.run("parent", None, "p").output == 8
    assert max(peak) <= 3
