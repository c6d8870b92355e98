"""Freshness per target: how old its `latest.json` is against its limits, and one event when that changes.

Why: a failed export announces itself, but an export that silently stopped (a schedule that never fires, a
credential that expired on a Friday) does not. At every timer tick each target's newest successful export
(`latest.json`, its `completed_at`) is held to the target's limits (`targets.freshness`): `fresh`, `warn`,
`error`; `never` when no export of it succeeded yet, `unchecked` when it has no limits. Each tick records the
age as a metric (`target.age`, with the state: what the stale-target alert reads). When the state changes, one
CloudEvent goes out through the export events' publisher: `com.exportpipeline.target.stale` on entering
`warn` or `error` (also from `warn` to `error`), `com.exportpipeline.target.fresh` on leaving them.

The last state is remembered per target in `<target>/freshness.json` of the exports container, replaced only
under the ETag it was read with, so two ticks that race publish the same event (its id derives from the
target, the new state and the state blob version it replaces: consumers de-duplicate) and only one write wins.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.core.messaging import CloudEvent
from azure.storage.blob import ContainerClient, ContentSettings

from kernel.timestamps import parse_timestamp, to_iso
from sinks.events import EventPublisher
from sinks.manifest import ExportManifest, read_latest
from targets import Target
from targets.freshness import limits
from telemetry.context import export_context
from telemetry.instruments import instruments

State = Literal["fresh", "warn", "error", "never", "unchecked"]
STALE: frozenset[str] = frozenset({"warn", "error"})
EVENT_TYPE_PREFIX = "com.exportpipeline.target"
STATE_VERSION = 1
JSON = ContentSettings(content_type="application/json")
log = logging.getLogger(__name__)


def state_blob_name(target: str) -> str:
    return f"{target}/freshness.json"


@dataclass(frozen=True)
class FreshnessRow:
    """One target's freshness at one moment: what the table prints and the event carries."""

    target: str
    connector: str
    state: State
    last_success: str | None  # completed_at of latest.json's export
    age_s: float | None
    warn_after_s: float | None
    error_after_s: float | None
    manifest: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _latest(container: ContainerClient, target: str) -> ExportManifest | None:
    try:
        return read_latest(container, target)
    except ValueError:  # unreadable (hand edit, another tool's schema): no success we can vouch for
        return None


def evaluate(target: Target, latest: ExportManifest | None, now: datetime) -> FreshnessRow:
    held_to = limits(target.freshness, target.schedule, now)
    committed = parse_timestamp(latest.completed_at) if latest is not None else None
    age = max(0.0, (now - committed).total_seconds()) if committed is not None else None
    state: State
    if held_to is None:
        state = "unchecked"
    elif age is None:
        state = "never"
    elif age > held_to.error_after_s:
        state = "error"
    elif age > held_to.warn_after_s:
        state = "warn"
    else:
        state = "fresh"
    return FreshnessRow(
        target=target.name,
        connector=target.connector,
        state=state,
        last_success=to_iso(committed) if committed is not None else None,
        age_s=round(age, 3) if age is not None else None,
        warn_after_s=held_to.warn_after_s if held_to else None,
        error_after_s=held_to.error_after_s if held_to else None,
        manifest=f"{target.name}/latest.json" if latest is not None else None,
    )


def freshness_table(targets: Iterable[Target], container: ContainerClient, now: datetime) -> list[FreshnessRow]:
    """Every target's freshness, read only (nothing recorded, written or published)."""
    return [evaluate(t, _latest(container, t.name), now) for t in sorted(targets, key=lambda t: t.name)]


def target_event(row: FreshnessRow, previous: str | None, basis: str) -> CloudEvent[dict[str, Any]]:
    kind = "stale" if row.state in STALE else "fresh"
    event_id = hashlib.sha256(f"{row.target}:{row.state}:{basis}".encode()).hexdigest()[:32]
    return CloudEvent(
        source=f"/targets/{row.target}",
        type=f"{EVENT_TYPE_PREFIX}.{kind}",
        data={**row.to_json(), "previous_state": previous},
        subject=row.target,
        id=event_id,
        time=datetime.now(UTC),
        datacontenttype="application/json",
    )


def check_target(
    target: Target, container: ContainerClient, publisher: EventPublisher, now: datetime
) -> tuple[FreshnessRow, bool]:
    """Evaluate one target, record its age, and on a change of state publish one event; (row, published)."""
    row = evaluate(target, _latest(container, target.name), now)
    common = {"target": target.name, "connector": target.connector}
    if row.age_s is not None:
        instruments().target_age.record(row.age_s, {**common, "state": row.state})
    blob = container.get_blob_client(state_blob_name(target.name))
    try:
        current = blob.download_blob()
        etag: str | None = current.properties.etag
        previous = _stored_state(current.readall())
    except ResourceNotFoundError:
        etag, previous = None, None
    if previous == row.state:
        return row, False
    announce = row.state in STALE or (row.state == "fresh" and previous in STALE)
    if announce:
        event = publisher.publish(target_event(row, previous, etag or "none"))
        instruments().freshness_changes.add(1, {**common, "state": row.state})
        with export_context(target=target.name, connector=target.connector, phase="freshness"):
            if row.state in STALE:
                log.warning("target %s is %s: last success %s", target.name, row.state, row.last_success or "never")
            else:
                log.info("target %s is fresh again (was %s)", target.name, previous)
        log.debug("published %s %s", event.type, event.id)
    _store_state(blob, row, now, etag)
    return row, announce


def _stored_state(data: bytes) -> str | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    state = value.get("state") if isinstance(value, dict) else None
    return state if isinstance(state, str) else None


def _store_state(blob: Any, row: FreshnessRow, now: datetime, etag: str | None) -> None:
    body = json.dumps({"schema_version": STATE_VERSION, "target": row.target, "state": row.state, "since": to_iso(now)})
    try:
        if etag is None:
            blob.upload_blob(body.encode(), overwrite=False, content_settings=JSON)  # If-None-Match: *
        else:
            blob.upload_blob(
                body.encode(),
                overwrite=True,
                content_settings=JSON,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
    except (ResourceExistsError, ResourceModifiedError):
        log.info("freshness of %s was recorded by a concurrent tick", row.target)


def check_targets(
    targets: Iterable[Target], container: ContainerClient, publisher: EventPublisher, now: datetime | None = None
) -> list[FreshnessRow]:
    """Every target checked; one target whose check fails is logged and does not stop the others."""
    moment = now or datetime.now(UTC)
    rows = []
    for target in sorted(targets, key=lambda t: t.name):
        try:
            rows.append(check_target(target, container, publisher, moment)[0])
        except Exception as exc:  # storage or the event sink: the next tick tries again
            with export_context(target=target.name, connector=target.connector, phase="freshness"):
                log.warning("freshness of target %s could not be checked: %s", target.name, type(exc).__name__)
    return rows


def check_configured(targets: Iterable[Target], now: datetime | None = None) -> list[FreshnessRow]:
    """What the timer tick runs: the exports container and events publisher from the settings; never raises,
    so the scheduler that follows it on the same tick still runs."""
    from sinks.storage_clients import StorageSettings, build_publisher

    try:
        return check_targets(targets, StorageSettings.from_env().container_client(), build_publisher(), now)
    except Exception as exc:
        log.warning("freshness could not be checked this tick: %s", type(exc).__name__)
        return []
