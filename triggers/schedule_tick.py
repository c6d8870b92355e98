"""What the timer does on each tick: start every due target, as singletons, under one capped parent.

A target is due when the instance for its latest schedule slot does not exist
yet, so a tick that was skipped or failed is caught up by the next one, and a
duplicate tick finds the instance and starts nothing. A target whose earlier
run is still going is skipped (and logged). All due exports go to one parent
orchestration with a fixed id, which keeps at most K upstream jobs in flight;
while it or any of its lanes is still working (a lane outlives a terminated
parent), a tick starts nothing new, so the cap holds across ticks too. An
export of a scheduled target that is still running (a terminated lane's, or
one the webhook started) takes one of the new parent's K slots, so the cap is
on jobs, not on lanes. A parent terminated while its lanes still run (the
scheduler cancelled) has its plan closed here, so its lanes start nothing
more (`orchestrators.scheduled_exports`). A parent or lane of the previous
release's scheduler, still running after a deploy, counts as a working
scheduler too (`orchestrators.scheduled_exports_v1`). The instance query
reads every page of the host's answer (`instance_status`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

import app_settings
from orchestrators import names
from orchestrators.contracts import ExportProgress, ScheduledExport, SchedulePlan
from orchestrators.instance_ids import export_instance_id
from sinks import claim_book
from sinks.storage_clients import StorageSettings
from targets import Target
from targets.schedules import slot_run_key
from triggers.instance_status import ACTIVE, query_instances, runtime_name

log = logging.getLogger(__name__)
SCHEDULER_INSTANCE = "export-scheduler"
# Lanes that make a scheduler run still working: today's, and the previous release's until its last one ends
# (`orchestrators.scheduled_exports_v1`; its parent runs under SCHEDULER_INSTANCE like today's).
SCHEDULER_LANES = frozenset({names.SCHEDULED_EXPORTS_LANE, names.SCHEDULED_EXPORTS_LANE_V1})


async def plan_exports(
    targets: Iterable[Target],
    now: datetime,
    instance_exists: Callable[[str], Awaitable[bool]],
    busy_targets: set[str],
) -> list[ScheduledExport]:
    """The exports this tick should start (target, run key, instance id)."""
    plan = []
    for target in sorted((t for t in targets if t.schedule), key=lambda t: t.name):
        assert target.schedule is not None
        run_key = slot_run_key(target.schedule, now)
        instance_id = export_instance_id(target.name, run_key)
        if await instance_exists(instance_id):
            continue
        if target.name in busy_targets:
            log.warning("target %s is due (%s) but its previous export is still running: skipped", target.name, run_key)
            continue
        plan.append(ScheduledExport(target=target, run_key=run_key, instance_id=instance_id))
    return plan


def busy_target_names(active: Iterable[Any]) -> set[str]:
    """Targets with an export that has not ended (suspended ones included: their upstream job may run)."""
    progress = (ExportProgress.read(getattr(status, "custom_status", None)) for status in active)
    return {export.target for export in progress if export is not None}


def close_scheduler_plan() -> None:
    """Close the recorded scheduler plan: its lanes claim nothing more (`sinks.claim_book`)."""
    claim_book.close_plan(StorageSettings.from_env().container_client())


async def run_tick(
    client: df.DurableOrchestrationClient,
    targets: Iterable[Target],
    now: datetime | None = None,
    close_plan: Callable[[], None] = close_scheduler_plan,
) -> str | None:
    """Start this tick's exports; the scheduler instance id, or None when nothing was started."""
    parent = runtime_name(await client.get_status(SCHEDULER_INSTANCE))
    if parent in ACTIVE:
        log.info("the previous scheduler run is still working: due exports start at a later tick")
        return None
    active = await query_instances(client, ACTIVE)
    lanes = {status.name for status in active} & SCHEDULER_LANES
    if lanes:
        # The scheduler was cancelled: its lanes end after their current export. A previous release's lanes have
        # no plan to close; they finish their own exports (`orchestrators.scheduled_exports_v1`).
        if parent == "Terminated" and names.SCHEDULED_EXPORTS_LANE in lanes:
            close_plan()
        log.info("lanes of an ended scheduler run are finishing their exports: due exports start at a later tick")
        return None
    targets = list(targets)

    async def exists(instance_id: str) -> bool:
        return runtime_name(await client.get_status(instance_id)) is not None

    moment = now or datetime.now(UTC)
    plan = await plan_exports(targets, moment, exists, busy_target_names(active))
    if not plan:
        return None
    scheduled = {t.name for t in targets if t.schedule}
    running = len(busy_target_names(active) & scheduled)  # their jobs count against the cap like the new ones
    limit = int(app_settings.get("EXPORT_MAX_CONCURRENT_JOBS")) - running
    if limit <= 0:
        log.info("%d export(s) of scheduled targets still run, the cap's worth: due exports start later", running)
        return None
    request = SchedulePlan(exports=plan, max_in_flight=limit).to_json()
    await client.start_new(names.SCHEDULED_EXPORTS_ORCHESTRATION, SCHEDULER_INSTANCE, request)
    log.info("scheduler started %d export(s), at most %d at once", len(plan), limit)
    return SCHEDULER_INSTANCE
