from __future__ import annotations

from datetime import UTC, datetime

from targets.schedules import last_occurrence, slot_run_key, valid_schedule

T1 = datetime(2026, 3, 1, 2, 2, tzinfo=UTC)


def test_six_field_ncrontab_with_seconds_first() -> None:
    assert valid_schedule("0 */5 * * * *")
    assert not valid_schedule("*/5 * * * *")  # five fields: that is cron, not NCRONTAB
    assert not valid_schedule("0 0 25 * * *")


def test_last_occurrence_is_at_or_before_the_moment() -> None:
    assert last_occurrence("0 0 2 * * *", T1) == datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert last_occurrence("0 0 2 * * *", datetime(2026, 3, 1, 2, 0, tzinfo=UTC)).hour == 2


def test_a_ticks_run_key_is_its_slot_and_the_same_for_every_tick_of_that_slot() -> None:
    assert slot_run_key("0 0 2 * * *", T1) == "2026-03-01T02:00:00Z"
    assert slot_run_key("0 30 * * * *", T1) == "2026-03-01T01:30:00Z"
    late_tick = datetime(2026, 3, 1, 2, 59, 59, 999_999, tzinfo=UTC)
    assert slot_run_key("0 0 2 * * *", late_tick) == slot_run_key("0 0 2 * * *", T1)
