"""The local runner plays the Durable host faithfully: toy orchestrators through the SDK's real replay.

The basics only; timers and custom status, retry numbering, resume after a crash and sub-orchestrations each
have a file of their own next to this one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from local.runner import LocalRunner

Context = Any


def double(x: int) -> int:
    return x * 2


def fail(_: Any) -> None:
    raise ValueError("nope")


def sequence(ctx: Context) -> Any:
    a = yield ctx.call_activity("double", 2)
    b = yield ctx.call_activity("double", a)
    return [a, b]


def test_sequential_activities_complete_with_their_results() -> None:
    result = LocalRunner({"o": sequence}, {"double": double}).run("o", None, "i")
    assert result.status == "Completed"
    assert result.output == [4, 8]


def catching(ctx: Context) -> Any:
    try:
        yield ctx.call_activity("fail", None)
    except Exception as exc:
        return f"caught {str(exc).split(chr(10))[0].strip()}"
    return "not caught"


def uncaught(ctx: Context) -> Any:
    yield ctx.call_activity("fail", None)
    return "unreachable"


def test_activity_failure_is_catchable_in_the_orchestrator() -> None:
    result = LocalRunner({"o": catching}, {"fail": fail}).run("o", None, "i")
    assert result.output == "caught Activity function 'fail' failed:  ValueError: nope"


def test_uncaught_activity_failure_fails_the_instance_with_its_message() -> None:
    result = LocalRunner({"o": uncaught}, {"fail": fail}).run("o", None, "i")
    assert result.status == "Failed"
    assert "ValueError: nope" in (result.error or "")


def test_call_activity_with_retry_retries_until_success() -> None:
    calls: list[int] = []

    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) < 3:
            raise RuntimeError("try again")
        return x

    def orchestrator(ctx: Context) -> Any:
        return (yield ctx.call_activity_with_retry("flaky", df.RetryOptions(1000, 5), 7))

    result = LocalRunner({"o": orchestrator}, {"flaky": flaky}, timer_scale=0.001).run("o", None, "i")
    assert result.output == 7
    assert len(calls) == 3


def counting(ctx: Context) -> Any:
    n = ctx.get_input()
    yield ctx.call_activity("double", n)
    if n < 3:
        ctx.continue_as_new(n + 1)
        return None
    return n


def test_continue_as_new_starts_fresh_generations_with_bounded_history() -> None:
    result = LocalRunner({"o": counting}, {"double": double}).run("o", 0, "i")
    assert result.output == 3
    assert result.generations == 4
    assert max(len(h) for h in result.histories) <= 8


def child(ctx: Context) -> Any:
    delay = ctx.get_input()
    yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=delay))
    return delay


def test_sub_orchestrations_fan_out_and_first_finisher_wins_task_any() -> None:
    def parent(ctx: Context) -> Any:
        every = yield ctx.task_all([ctx.call_sub_orchestrator("child", d, f"c{d}") for d in (3, 1, 2)])
        tasks = [ctx.call_sub_orchestrator("child", d, f"r{d}") for d in (300, 10)]
        first = yield ctx.task_any(tasks)
        return [every, first.result]

    result = LocalRunner({"parent": parent, "child": child}, {}, timer_scale=0.001).run("parent", None, "p")
    assert result.output == [[3, 1, 2], 10]
