"""The scheduler's three activities: record a plan in claim order, claim the next export, close the plan.

The order is longest-first by each target's last observed duration, read from its `latest.json` (the upstream
job's creation to our commit of its result); targets never exported yet come first, in the tick's order, since
nothing says they are short. Claims themselves are `sinks.claim_book`'s, idempotent per lane and claim number.

What repeating cannot fix is answered, not raised: a request that cannot be decoded, a claim book of another
release or a skipped claim number is a permanent `ContractError` (`Failure`), so the scheduler fails at once
naming it instead of retrying it. A storage error is raised, and the scheduler's retry policy waits it out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from azure.storage.blob import ContainerClient
from pydantic import ValidationError

from kernel.errors import ContractError, ErrorKind
from kernel.timestamps import parse_timestamp
from orchestrators import names
from orchestrators.contracts import Failure, ScheduledExport, undecodable
from orchestrators.scheduler_contracts import (
    ClaimAnswer,
    CloseAnswer,
    CloseRequest,
    LaneInput,
    PlanAnswer,
    PlanRequest,
)
from sinks import claim_book
from sinks.manifest import read_latest
from sinks.storage_clients import StorageSettings
from versioned import UnsupportedVersion

log = logging.getLogger(__name__)
READERS = 16  # latest.json reads in flight while planning
Payload = dict[str, Any]
E = TypeVar("E")


def _container() -> ContainerClient:
    return StorageSettings.from_env().container_client()


def last_duration_s(container: ContainerClient, target: str) -> float | None:
    """Seconds from the upstream job's creation to our commit, for the target's latest export; None if unknown."""
    try:
        manifest = read_latest(container, target)
    except (ValidationError, ValueError):
        return None
    if manifest is None:
        return None
    created, completed = parse_timestamp(manifest.created_at), parse_timestamp(manifest.completed_at)
    if created is None or completed is None or completed < created:
        return None
    return (completed - created).total_seconds()


def claim_order(exports: list[E], durations: list[float | None]) -> list[E]:
    """Unknown durations first (in the given order), then longest first; ties keep the given order."""
    ranked = sorted(range(len(exports)), key=lambda i: (durations[i] is not None, -(durations[i] or 0.0), i))
    return [exports[i] for i in ranked]


def _answered(activity: str, call: Callable[[], Payload]) -> Payload:
    """`call`'s answer, or the permanent failure for what no repetition could fix (storage errors propagate)."""
    try:
        return call()
    except (ValidationError, UnsupportedVersion, ValueError) as exc:
        failure = undecodable(f"{activity}'s request or claim book", exc)
    except claim_book.ClaimError as exc:
        failure = ContractError(ErrorKind.PERMANENT, f"{activity}: {exc}")
    log.warning("%s failed for good: %s", activity, failure)
    return Failure(error=failure).to_json()


def plan_scheduled_exports(payload: Payload) -> Payload:
    return _answered(names.PLAN_SCHEDULED_EXPORTS, lambda: _plan(payload))


def claim_scheduled_export(payload: Payload) -> Payload:
    return _answered(names.CLAIM_SCHEDULED_EXPORT, lambda: _claim(payload))


def close_scheduled_exports(payload: Payload) -> Payload:
    return _answered(names.CLOSE_SCHEDULED_EXPORTS, lambda: _close(payload))


def _plan(payload: Payload) -> Payload:
    request = PlanRequest.from_json(payload)
    container = _container()
    names_ = [e.target.name for e in request.exports]
    with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="plan-reader") as pool:
        durations = list(pool.map(lambda name: last_duration_s(container, name), names_))
    ordered = claim_order(request.exports, durations)
    count = claim_book.open_plan(container, request.plan_id, [e.model_dump(mode="json") for e in ordered])
    known = sum(d is not None for d in durations)
    log.info("scheduler plan %s: %d export(s), %d with a last observed duration", request.plan_id, count, known)
    return PlanAnswer(count=count, known=known).to_json()


def _claim(payload: Payload) -> Payload:
    lane = LaneInput.from_json(payload)
    container = _container()
    reported = lane.reported.to_json() if lane.reported else None
    index = claim_book.claim(container, lane.plan_id, lane.lane, lane.claim, reported)
    export = None if index == claim_book.NONE else claim_book.export_at(container, lane.plan_id, index)
    return ClaimAnswer(index=index, export=ScheduledExport.model_validate(export) if export else None).to_json()


def _close(payload: Payload) -> Payload:
    request = CloseRequest.from_json(payload)
    return CloseAnswer.model_validate({"outcomes": claim_book.close_plan(_container(), request.plan_id)}).to_json()


ACTIVITIES: dict[str, Callable[[Payload], Payload]] = {
    names.PLAN_SCHEDULED_EXPORTS: plan_scheduled_exports,
    names.CLAIM_SCHEDULED_EXPORT: claim_scheduled_export,
    names.CLOSE_SCHEDULED_EXPORTS: close_scheduled_exports,
}
