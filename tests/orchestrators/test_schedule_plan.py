from __future__ import annotations

from datetime import UTC, datetime

from orchestrators.schedule_plan import due_runs, last_occurrence, valid_schedule

T0 = datetime(2026, 3, 1, 1, 57, tzinfo=UTC)
T1 = datetime(2026, 3, 1, 2, 2, tzinfo=UTC)


def test_six_field_ncrontab_with_seconds_first() -> None:
    assert valid_schedule("0 */5 * * * *")
    assert not valid_schedule("*/5 * * * *")  # five fields: that is cron, not NCRONTAB
    assert not valid_schedule("0 0 25 * * *")


def test_last_occurrence_is_at_or_before_the_moment() -> None:
    assert last_occurrence("0 0 2 * * *", T1) == datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert last_occurrence("0 0 2 * * *", datetime(2026, 3, 1, 2, 0, tzinfo=UTC)).hour == 2


def test_targets_due_in_the_window_get_their_slot_as_run_key() -> None:
    runs = due_runs({"daily": "0 0 2 * * *", "hourly-at-30": "0 30 * * * *"}, T0, T1)
    assert [(r.target, r.run_key) for r in runs] == [("daily", "2026-03-01T02:00:00Z")]
    assert due_runs({"daily": "0 0 2 * * *"}, T0, T1)[0].instance_id == runs[0].instance_id
