"""Freshness per target against Azurite: the age of latest.json, its state, one event per change of state."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sinks.blob_ref import BlobRef
from sinks.freshness import check_targets, evaluate, freshness_table, state_blob_name
from sinks.manifest import ExportManifest, update_latest
from sinks.storage_clients import StorageSettings, build_publisher
from targets import Target
from targets.freshness import Freshness, limits
from telemetry.instruments import ATTRIBUTES, TARGET_AGE, TARGET_FRESHNESS_CHANGES
from tests.support import storage
from tests.support.targets import viva_raw
from tests.support.telemetry import log_attributes, recorded

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _target(name: str, **extra: object) -> Target:
    return Target.model_validate({**viva_raw("https://graph.microsoft.com/beta", name), **extra})


def _manifest(target: str, completed: datetime) -> ExportManifest:
    blob = BlobRef(
        container="exports", name=f"{target}/j/content.csv", url="u", size=1, sha256="0" * 64, content_type="text/csv"
    )
    return ExportManifest(
        target=target,
        connector="viva_goals",
        job_id=f"job-{completed.timestamp()}",
        instance_id="i",
        blob=blob,
        created_at=completed.isoformat(),
        completed_at=completed.isoformat().replace("+00:00", "Z"),
        upstream_expires_at=None,
    )


def test_declared_limits_win_and_a_schedule_gives_two_and_three_intervals() -> None:
    assert limits(Freshness(warn_after="26h", error_after="50h"), None, NOW).__dict__ == {  # type: ignore[arg-type]
        "warn_after_s": 26 * 3600.0,
        "error_after_s": 50 * 3600.0,
        "declared": True,
    }
    hourly = limits(None, "0 0 * * * *", NOW)
    assert hourly is not None
    assert (hourly.warn_after_s, hourly.error_after_s) == (7200.0, 10800.0)
    assert limits(None, None, NOW) is None


@pytest.mark.parametrize(
    "freshness",
    [
        {"warn_after": "26x", "error_after": "50h"},
        {"warn_after": "5h", "error_after": "1h"},
        {"warn_after": "1s", "error_after": "1h"},
        {"warn_after": True, "error_after": "1h"},
        {"warn_after": "26h"},
        {"warn_after": "1h", "error_after": "2h", "page": "x"},
    ],
)
def test_bad_freshness_is_refused_when_the_targets_are_loaded(freshness: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="freshness"):
        _target("goals", freshness=freshness)


def test_states_by_age_and_for_targets_never_exported_or_without_limits() -> None:
    declared = _target("goals", freshness={"warn_after": "1h", "error_after": "2h"})
    assert evaluate(declared, _manifest("goals", NOW - timedelta(minutes=30)), NOW).state == "fresh"
    assert evaluate(declared, _manifest("goals", NOW - timedelta(minutes=90)), NOW).state == "warn"
    assert evaluate(declared, _manifest("goals", NOW - timedelta(hours=3)), NOW).state == "error"
    assert evaluate(declared, None, NOW).state == "never"
    assert evaluate(_target("adhoc"), _manifest("adhoc", NOW - timedelta(days=400)), NOW).state == "unchecked"


@pytest.mark.integration
@pytest.mark.usefixtures("export_env")
def test_a_stale_target_produces_one_event_the_log_attributes_and_the_metric_the_alert_reads_then_fresh_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    telemetry = recorded()
    caplog.set_level(logging.INFO)
    name = f"goals-{uuid.uuid4().hex[:8]}"
    target = _target(name, freshness={"warn_after": "1h", "error_after": "2h"}, schedule="0 0 * * * *")
    container = StorageSettings.from_env().container_client()
    update_latest(container, _manifest(name, NOW - timedelta(hours=3)))
    publisher = build_publisher()

    [row] = check_targets([target], container, publisher, NOW)
    assert row.state == "error"
    check_targets([target], container, publisher, NOW + timedelta(minutes=5))  # still stale: no second event
    [stale] = storage.events()
    assert stale["type"] == "com.exportpipeline.target.stale"
    assert stale["data"]["state"] == "error"
    assert stale["data"]["target"] == name
    assert telemetry.count(TARGET_AGE, target=name, state="error") == 2  # every tick: what the alert reads
    assert telemetry.count(TARGET_FRESHNESS_CHANGES, target=name, state="error") == 1
    for metric, attributes, _ in telemetry.points():
        if attributes.get("target") == name:
            assert set(attributes) == set(ATTRIBUTES[metric]), metric  # what the stale-target alert reads
    [record] = [r for r in caplog.records if r.getMessage().startswith(f"target {name} is error")]
    assert {k: log_attributes(record)[k] for k in ("target", "connector", "phase")} == {
        "target": name,
        "connector": "viva_goals",
        "phase": "freshness",
    }
    assert storage.read_json(state_blob_name(name))["state"] == "error"

    update_latest(container, _manifest(name, NOW + timedelta(minutes=50)))
    check_targets([target], container, publisher, NOW + timedelta(hours=1))
    assert [e["type"] for e in storage.events()] == [
        "com.exportpipeline.target.stale",
        "com.exportpipeline.target.fresh",
    ]
    assert freshness_table([target], container, NOW + timedelta(hours=1))[0].state == "fresh"


@pytest.mark.integration
@pytest.mark.usefixtures("export_env")
def test_a_target_first_seen_fresh_or_never_exported_publishes_nothing() -> None:
    container = StorageSettings.from_env().container_client()
    fresh = _target("fresh-one", freshness={"warn_after": "1h", "error_after": "2h"})
    update_latest(container, _manifest("fresh-one", NOW - timedelta(minutes=1)))
    never = _target("never-one", schedule="0 0 * * * *")
    rows = check_targets([fresh, never], container, build_publisher(), NOW)
    assert [(r.target, r.state) for r in rows] == [("fresh-one", "fresh"), ("never-one", "never")]
    assert storage.events() == []
