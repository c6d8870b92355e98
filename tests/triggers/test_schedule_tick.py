"""The timer's tick against a loopback fake of the Durable host: due targets, singletons, one capped parent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from orchestrators import names
from orchestrators.contracts import ExportProgress
from targets import Target, parse_targets
from tests.triggers.fake_durable_host import LOOP, FakeHost, fake_durable_host
from triggers.schedule_tick import SCHEDULER_INSTANCE, run_tick

NOW = datetime(2026, 3, 1, 2, 3, tzinfo=UTC)


def target(name: str, schedule: str | None) -> dict[str, Any]:
    return {
        "name": name,
        "connector": "sailpoint",
        "base_url": "https://acme.api.identitynow.com/v2025",
        "auth": {"kind": "bearer_env", "env": "T"},
        "schedule": schedule,
    }


TARGETS: list[Target] = list(
    parse_targets(
        {"targets": [target("nightly", "0 0 2 * * *"), target("five-min", "0 */5 * * * *"), target("manual", None)]}
    ).values()
)


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHost]:
    monkeypatch.setenv("EXPORT_MAX_CONCURRENT_JOBS", "3")
    with fake_durable_host() as fake:
        yield fake


def exporting(target: str, runtime_status: str = "Running", instance_id: str = "export-nightly-old") -> dict[str, Any]:
    """An export instance as the host lists it, its custom status in the shape the orchestrator writes."""
    progress = ExportProgress(
        phase="waiting",
        target=target,
        job_id="j1",
        upstream_status="running",
        polls=2,
        next_poll_at=None,
        bytes=None,
        recreations=0,
        generation=1,
        deadline_at="2026-03-01T08:00:00Z",
        last_error=None,
    )
    return {
        "name": names.EXPORT_ORCHESTRATION,
        "instanceId": instance_id,
        "runtimeStatus": runtime_status,
        "customStatus": progress.to_json(),
    }


def tick(host: FakeHost, closed: list[str] | None = None) -> str | None:
    """One tick; a plan the tick closes is noted in `closed` (the claims themselves are tested on Azurite)."""
    noted = closed if closed is not None else []
    return LOOP.run_until_complete(run_tick(host.client(), TARGETS, NOW, lambda: noted.append("closed")))


def test_due_targets_start_under_one_parent_with_the_cap(host: FakeHost) -> None:
    assert tick(host) == SCHEDULER_INSTANCE
    [(name, instance_id, plan)] = host.started
    assert (name, instance_id) == (names.SCHEDULED_EXPORTS_ORCHESTRATION, SCHEDULER_INSTANCE)
    assert plan["max_in_flight"] == 3
    assert [(e["target"]["name"], e["run_key"]) for e in plan["exports"]] == [
        ("five-min", "2026-03-01T02:00:00Z"),
        ("nightly", "2026-03-01T02:00:00Z"),
    ]


def test_a_tick_while_the_scheduler_still_works_starts_nothing(host: FakeHost) -> None:
    tick(host)
    assert tick(host) is None
    assert len(host.started) == 1


def test_a_repeated_tick_for_the_same_slot_starts_nothing_again(host: FakeHost) -> None:
    tick(host)
    plan = host.started[0][2]
    host.instances[SCHEDULER_INSTANCE]["runtimeStatus"] = "Completed"
    for export in plan["exports"]:  # the parent created its children under these ids
        host.instances[export["instance_id"]] = {"instanceId": export["instance_id"], "runtimeStatus": "Completed"}
    assert tick(host) is None


def test_a_target_whose_previous_run_is_still_going_is_skipped(host: FakeHost) -> None:
    host.instances["export-nightly-old"] = exporting("nightly")
    tick(host)
    assert [e["target"]["name"] for e in host.started[0][2]["exports"]] == ["five-min"]


def running_exports(host: FakeHost, count: int, status: str = "Running") -> None:
    for n in range(count):
        instance_id = f"export-other-{n:04d}"
        host.instances[instance_id] = exporting(f"other-{n:04d}", status, instance_id)


def test_a_busy_target_beyond_the_first_page_of_the_instance_query_is_skipped(host: FakeHost) -> None:
    running_exports(host, 150)
    host.instances["export-nightly-old"] = exporting("nightly")
    tick(host)
    assert host.pages_served == 2
    assert [e["target"]["name"] for e in host.started[0][2]["exports"]] == ["five-min"]


def test_a_suspended_export_marks_its_target_busy(host: FakeHost) -> None:
    host.instances["export-nightly-old"] = exporting("nightly", "Suspended")
    tick(host)
    assert [e["target"]["name"] for e in host.started[0][2]["exports"]] == ["five-min"]


def test_a_lane_still_exporting_after_its_parent_was_terminated_starts_nothing_and_closes_the_plan(
    host: FakeHost,
) -> None:
    host.instances[SCHEDULER_INSTANCE] = {"instanceId": SCHEDULER_INSTANCE, "runtimeStatus": "Terminated"}
    lane = f"{SCHEDULER_INSTANCE}-abc-lane-0"
    host.instances[lane] = {"name": names.SCHEDULED_EXPORTS_LANE, "instanceId": lane, "runtimeStatus": "Running"}
    closed: list[str] = []
    assert tick(host, closed) is None
    assert host.started == []
    assert closed == ["closed"]  # the scheduler was cancelled: its lanes claim nothing more


def test_lanes_of_a_parent_that_failed_go_on_with_their_plan(host: FakeHost) -> None:
    host.instances[SCHEDULER_INSTANCE] = {"instanceId": SCHEDULER_INSTANCE, "runtimeStatus": "Failed"}
    lane = f"{SCHEDULER_INSTANCE}-abc-lane-1"
    host.instances[lane] = {"name": names.SCHEDULED_EXPORTS_LANE, "instanceId": lane, "runtimeStatus": "Running"}
    closed: list[str] = []
    assert tick(host, closed) is None
    assert closed == []  # a lane was terminated, not the scheduler: the other lanes take its exports


def test_a_running_export_of_a_scheduled_target_takes_a_slot_of_the_cap(host: FakeHost) -> None:
    """A terminated lane's export outlives its lane and parent: the next tick starts K - 1 lanes, not K."""
    host.instances[SCHEDULER_INSTANCE] = {"instanceId": SCHEDULER_INSTANCE, "runtimeStatus": "Failed"}
    host.instances["export-nightly-old"] = exporting("nightly")
    running_exports(host, 5)  # exports of targets this app does not schedule: not the scheduler's cap
    assert tick(host) == SCHEDULER_INSTANCE
    assert host.started[0][2]["max_in_flight"] == 2  # the cap is 3


def test_no_slot_left_starts_nothing(host: FakeHost) -> None:
    host.instances["export-nightly-old"] = exporting("nightly")
    host.instances["export-five-min-old"] = exporting("five-min", instance_id="export-five-min-old")
    host.instances["export-manual"] = exporting("manual", instance_id="export-manual")  # not scheduled: no slot
    assert tick(host) is None  # both scheduled targets are busy (and skipped) anyway
    parsed = list(parse_targets({"targets": [target(f"t{n}", "0 */5 * * * *") for n in range(4)]}).values())
    for n in range(3):
        host.instances[f"export-t{n}-old"] = exporting(f"t{n}", instance_id=f"export-t{n}-old")
    assert LOOP.run_until_complete(run_tick(host.client(), parsed, NOW, lambda: None)) is None
    assert host.started == []  # t3 is due, but the three running exports hold the cap of 3


def test_a_parent_of_the_previous_release_still_running_starts_nothing(host: FakeHost) -> None:
    """After a deploy, the previous release's scheduler (its old name, the same instance id) is a working one."""
    host.instances[SCHEDULER_INSTANCE] = {
        "name": names.SCHEDULED_EXPORTS_ORCHESTRATION_V1,
        "instanceId": SCHEDULER_INSTANCE,
        "runtimeStatus": "Running",
    }
    assert tick(host) is None
    assert host.started == []


@pytest.mark.parametrize("parent", ["Completed", "Failed", "Terminated"])
def test_a_lane_of_the_previous_release_still_exporting_starts_nothing_and_closes_no_plan(
    host: FakeHost, parent: str
) -> None:
    host.instances[SCHEDULER_INSTANCE] = {
        "name": names.SCHEDULED_EXPORTS_ORCHESTRATION_V1,
        "instanceId": SCHEDULER_INSTANCE,
        "runtimeStatus": parent,
    }
    lane = f"{SCHEDULER_INSTANCE}-lane-0-0123456789ab"
    host.instances[lane] = {"name": names.SCHEDULED_EXPORTS_LANE_V1, "instanceId": lane, "runtimeStatus": "Running"}
    closed: list[str] = []
    assert tick(host, closed) is None
    assert host.started == []
    assert closed == []  # its lanes carry their own exports: there is no claim book plan of theirs to close
