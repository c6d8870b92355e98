"""Timers: scaled real waits, full orchestration time, progress events a display can show."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from local.runner import LocalRunner, RunnerEvent

Context = Any


def two_timers(ctx: Context) -> Any:
    start = ctx.current_utc_datetime
    yield ctx.create_timer(start + timedelta(seconds=60))
    middle = ctx.current_utc_datetime
    yield ctx.create_timer(middle + timedelta(seconds=30))
    return [(middle - start).total_seconds(), (ctx.current_utc_datetime - start).total_seconds()]


def test_orchestration_time_advances_by_each_timer_while_real_time_is_scaled() -> None:
    began = time.monotonic()
    result = LocalRunner({"o": two_timers}, {}, timer_scale=0.002).run("o", None, "i")
    elapsed = time.monotonic() - began
    first, total = result.output
    assert 60 <= first < 61
    assert 90 <= total < 91
    assert 0.18 <= elapsed < 2  # 90 s at 0.002 is 0.18 s of real waiting


def test_timer_events_report_the_unscaled_duration_and_due_time() -> None:
    seen: list[RunnerEvent] = []
    LocalRunner({"o": two_timers}, {}, timer_scale=0.0001, on_event=seen.append).run("o", None, "i")
    created = [e.detail for e in seen if e.kind == "timer_created"]
    assert [round(d["seconds"]) for d in created] == [60, 30]
    fired = [e.detail["fire_at"] for e in seen if e.kind == "timer_fired"]
    assert fired == [d["fire_at"] for d in created]


def test_a_deadline_computed_from_orchestration_time_expires_as_in_production() -> None:
    def poll_until_deadline(ctx: Context) -> Any:
        deadline = ctx.current_utc_datetime + timedelta(minutes=10)
        polls = 0
        while ctx.current_utc_datetime < deadline:
            polls += 1
            yield ctx.create_timer(ctx.current_utc_datetime + timedelta(minutes=3))
        return polls

    result = LocalRunner({"o": poll_until_deadline}, {}, timer_scale=0.0001).run("o", None, "i")
    assert result.output == 4  # 0, 3, 6, 9 minutes are before the deadline; 12 is not


def test_custom_status_is_kept_in_the_result_and_each_change_reported_once() -> None:
    seen: list[RunnerEvent] = []

    def orchestrator(ctx: Context) -> Any:
        for phase in ("creating", "creating", "polling"):
            ctx.set_custom_status({"phase": phase})
            yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=1))
        return "done"

    result = LocalRunner({"o": orchestrator}, {}, timer_scale=0.0001, on_event=seen.append).run("o", None, "i")
    assert [e.detail["status"] for e in seen if e.kind == "custom_status"] == [
        {"phase": "creating"},
        {"phase": "polling"},
    ]
    assert result.custom_status == {"phase": "polling"}
    assert [e.kind for e in seen][-1] == "completed"
