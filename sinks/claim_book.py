"""The scheduler's plan and its claims, kept in Blob Storage: which export each lane's k-th claim got.

Lanes take the next export when they are free instead of a share dealt in
advance (`orchestrators.scheduled_exports` says why). An activity can run more
than once for one call (a worker dies after the write, before the host records
the answer), so a claim is idempotent by construction: lane n's k-th claim is
recorded under (n, k) the first time and answered from that record every later
time, so a repeated activity never takes a second export or skips one. Writes
are conditional on the ETag read (`If-Match`), so K lanes claiming at once never
overwrite each other; the loser reads again and retries.

Two blobs in the export container, under a prefix no target name can take
(target names start with a letter or digit): `_scheduler/plan.json`, written
once per plan (the exports in claim order), and `_scheduler/claims.json`, small
and rewritten on every claim (the plan id, the next index, each lane's claims as
indices, each claimed export's reported outcome, and whether the plan is
closed). A new plan replaces both; a lane of an older plan then claims nothing.
A closed plan answers every new claim with nothing (recorded claims still
answer as recorded), which is how the scheduler is cancelled.

Both blobs carry `schema_version` (`versioned`): a reader takes the current
version and the previous one (the unversioned blobs of the release before,
same keys) and refuses any other with `UnsupportedVersion` naming both, so a
book written by a release this one does not know is never half-read or
overwritten.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

import versioned

PLAN_BLOB = "_scheduler/plan.json"
CLAIMS_BLOB = "_scheduler/claims.json"
JSON = ContentSettings(content_type="application/json")
ATTEMPTS = 64  # conditional writes lost in a row before giving up (K lanes contend; each loss is someone's win)
NONE = -1  # a claim that got nothing: the plan was exhausted or closed
SCHEMA_VERSION = 2  # of both blobs; 1 is the unversioned shape of the release before, with the same keys
Export = dict[str, Any]

_plans: dict[tuple[str, str], list[Export]] = {}  # (container url, plan id) -> exports; a plan never changes
_plans_lock = threading.Lock()


class ClaimError(RuntimeError):
    """A claim that cannot be answered (a skipped claim number: a bug, never retried into success)."""


def _read(container: ContainerClient, name: str) -> tuple[dict[str, Any], str] | None:
    try:
        downloaded = container.download_blob(name)
    except ResourceNotFoundError:
        return None
    data = json.loads(downloaded.readall())
    if not isinstance(data, dict):
        raise ClaimError(f"{name} does not hold a JSON object")
    versioned.check(data, name, SCHEMA_VERSION)
    return versioned.stamped(data, SCHEMA_VERSION), str(downloaded.properties.etag)


def _write(container: ContainerClient, name: str, data: dict[str, Any], etag: str | None) -> bool:
    """Write `data` if the blob is still at `etag` (absent when None); False when someone else wrote first."""
    body = json.dumps(versioned.stamped(data, SCHEMA_VERSION), separators=(",", ":")).encode()
    try:
        if etag is None:
            container.upload_blob(name, body, overwrite=False, content_settings=JSON)
        else:
            container.upload_blob(
                name,
                body,
                overwrite=True,
                content_settings=JSON,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
    except (ResourceExistsError, ResourceModifiedError):
        return False
    return True


def open_plan(container: ContainerClient, plan_id: str, exports: list[Export]) -> int:
    """Record a plan (exports in claim order) unless it is the one recorded; the number of exports."""
    current = _read(container, CLAIMS_BLOB)
    if current is not None and current[0].get("plan_id") == plan_id:
        return int(current[0]["count"])
    plan = versioned.stamped({"plan_id": plan_id, "exports": exports}, SCHEMA_VERSION)
    container.upload_blob(PLAN_BLOB, json.dumps(plan).encode(), overwrite=True, content_settings=JSON)
    claims = {"plan_id": plan_id, "count": len(exports), "next": 0, "lanes": {}, "outcomes": {}, "closed": False}
    for _ in range(ATTEMPTS):
        current = _read(container, CLAIMS_BLOB)
        if current is not None and current[0].get("plan_id") == plan_id:
            break
        if _write(container, CLAIMS_BLOB, claims, current[1] if current else None):
            break
    else:
        raise ResourceModifiedError(f"{CLAIMS_BLOB} kept changing; gave up after {ATTEMPTS} attempts")
    return len(exports)


def claim(container: ContainerClient, plan_id: str, lane: int, number: int, reported: dict[str, Any] | None) -> int:
    """Lane `lane`'s `number`-th claim (0-based): an export index, or NONE. `reported` is the outcome of the
    lane's previous export ({"index", "outcome"}), recorded with the claim."""
    for _ in range(ATTEMPTS):
        current = _read(container, CLAIMS_BLOB)
        if current is None or current[0].get("plan_id") != plan_id:
            return NONE  # a lane of a plan that a newer one replaced
        book, etag = current
        taken: list[int] = book["lanes"].setdefault(str(lane), [])
        if number < len(taken):
            return taken[number]  # this claim was answered before: the same answer
        if number > len(taken):
            raise ClaimError(f"lane {lane} claimed #{number} before #{len(taken)}")
        if reported is not None:
            book["outcomes"][str(int(reported["index"]))] = str(reported["outcome"])
        index = NONE if book["closed"] or book["next"] >= book["count"] else int(book["next"])
        taken.append(index)
        book["next"] += 0 if index == NONE else 1
        if _write(container, CLAIMS_BLOB, book, etag):
            return index
    raise ResourceModifiedError(f"{CLAIMS_BLOB} kept changing; gave up after {ATTEMPTS} attempts")


def export_at(container: ContainerClient, plan_id: str, index: int) -> Export:
    """The plan's `index`-th export (the plan is read once per process: it never changes under its id)."""
    key = (container.url, plan_id)
    with _plans_lock:
        exports = _plans.get(key)
    if exports is None:
        found = _read(container, PLAN_BLOB)
        if found is None or found[0].get("plan_id") != plan_id:
            raise ClaimError(f"plan {plan_id} is not the recorded plan")
        exports = list(found[0]["exports"])
        with _plans_lock:
            _plans.clear()  # one plan at a time is current
            _plans[key] = exports
    return exports[index]


def close_plan(container: ContainerClient, plan_id: str | None = None) -> dict[str, str]:
    """Close the plan (`plan_id`, or whichever is recorded): no new claim gets an export. Its outcomes by
    export instance id (exports claimed but not reported are absent)."""
    for _ in range(ATTEMPTS):
        current = _read(container, CLAIMS_BLOB)
        if current is None or (plan_id is not None and current[0].get("plan_id") != plan_id):
            return {}
        book, etag = current
        if book["closed"] or _write(container, CLAIMS_BLOB, {**book, "closed": True}, etag):
            break
    else:
        raise ResourceModifiedError(f"{CLAIMS_BLOB} kept changing; gave up after {ATTEMPTS} attempts")
    recorded = str(book["plan_id"])
    return {export_at(container, recorded, int(i))["instance_id"]: outcome for i, outcome in book["outcomes"].items()}
