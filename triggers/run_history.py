"""Run history: the export runs a target had, newest first, for `GET /api/exports` and `python -m local runs`.

Why: "what happened to last night's export?" must be answerable without a portal. The HTTP list reads the
host's instance query (`instance_status.query_instances`, every page), keeps export orchestrations only,
filters, sorts newest first and pages with a continuation token of its own: the host offers neither an order
nor a target filter, so it is read whole and bounded there. Each item has the fields of the status endpoint.

Every query input is hostile until parsed here: `target` must be a target name, `status` a known outcome or
runtime status (comma-separated), `since` an ISO 8601 instant or a duration back from now (`24h`, `7d`),
`top` 1-100, and `continuation` only a token this module wrote (bounded, base64url JSON of the last item's
creation time and instance id). Anything else is a 400 problem naming the parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kernel.timestamps import parse_timestamp, to_iso
from orchestrators import names
from orchestrators.instance_ids import is_export_instance_id
from targets.freshness import parse_duration
from targets.model import TARGET_NAME

OUTCOMES: Mapping[str, frozenset[str]] = {
    "succeeded": frozenset({"Completed"}),
    "failed": frozenset({"Failed"}),
    "terminated": frozenset({"Terminated", "Canceled"}),
    "running": frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"}),
}
RUNTIME_STATUSES = frozenset().union(*OUTCOMES.values())
DEFAULT_TOP = 50
MAX_TOP = 100
MAX_TOKEN = 512
MAX_PARAM = 200
MAX_SINCE = timedelta(days=366)


class BadQuery(ValueError):
    """A query parameter that cannot be used; the message names it."""


@dataclass(frozen=True)
class RunQuery:
    target: str | None = None
    statuses: frozenset[str] = RUNTIME_STATUSES
    since: datetime | None = None
    top: int = DEFAULT_TOP
    after: tuple[str, str] | None = None  # (created time, instance id) of the last item of the previous page


def outcome_of(runtime_status: str | None) -> str:
    for outcome, statuses in OUTCOMES.items():
        if runtime_status in statuses:
            return outcome
    return "unknown"


def parse_statuses(value: str) -> frozenset[str]:
    wanted: set[str] = set()
    by_lower = {name.lower(): name for name in RUNTIME_STATUSES}
    for word in (w.strip().lower() for w in value.split(",")):
        if word in OUTCOMES:
            wanted |= OUTCOMES[word]
        elif word in by_lower:
            wanted.add(by_lower[word])
        else:
            known = ", ".join([*OUTCOMES, *sorted(RUNTIME_STATUSES)])
            raise BadQuery(f"status: {word[:40]!r} is not one of {known}")
    return frozenset(wanted)


def parse_since(value: str, now: datetime) -> datetime:
    moment = parse_timestamp(value)
    if moment is None:
        try:
            moment = now - timedelta(seconds=parse_duration(value))
        except ValueError:
            raise BadQuery(
                f"since: expected an ISO 8601 instant with its zone or a duration such as 24h or 7d, got {value[:40]!r}"
            ) from None
    if moment < now - MAX_SINCE:
        raise BadQuery("since: at most 366 days back")
    return moment


def encode_token(created: str, instance_id: str) -> str:
    raw = json.dumps([created, instance_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[str, str]:
    problem = BadQuery("continuation: not a token this API wrote")
    if len(token) > MAX_TOKEN or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        raise problem
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        raise problem from None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, str) for v in value)
        or parse_timestamp(value[0]) is None
        or not is_export_instance_id(value[1])
    ):
        raise problem
    return value[0], value[1]


def parse_query(params: Mapping[str, str], now: datetime | None = None) -> RunQuery:
    """The query of `GET /api/exports` (or the CLI's options), validated; BadQuery names what is wrong."""
    unknown = sorted(set(params) - {"target", "status", "since", "top", "continuation", "code"})
    if unknown:
        raise BadQuery(f"unknown parameter {unknown[0][:40]!r}; known: target, status, since, top, continuation")
    for name, value in params.items():
        if len(value) > (MAX_TOKEN if name == "continuation" else MAX_PARAM):
            raise BadQuery(f"{name}: too long")
    moment = now or datetime.now(UTC)
    target = params.get("target") or None
    if target is not None and not re.fullmatch(TARGET_NAME, target):
        raise BadQuery("target: lowercase letters, digits, '-' and '_' (a target name) expected")
    statuses = parse_statuses(params["status"]) if params.get("status") else RUNTIME_STATUSES
    since = parse_since(params["since"], moment) if params.get("since") else None
    top = DEFAULT_TOP
    if params.get("top"):
        if not params["top"].isdigit() or not 1 <= int(params["top"]) <= MAX_TOP:
            raise BadQuery(f"top: a whole number from 1 to {MAX_TOP}")
        top = int(params["top"])
    after = decode_token(params["continuation"]) if params.get("continuation") else None
    return RunQuery(target=target, statuses=statuses, since=since, top=top, after=after)


def _created(status: Any) -> datetime | None:
    value = getattr(status, "created_time", None)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return parse_timestamp(value)


def select(
    statuses: Iterable[Any], query: RunQuery, target_of: Callable[[Any], str | None]
) -> tuple[list[Any], str | None]:
    """The page of `statuses` (the host's answers) the query asks for, newest first, and the next token.

    `target_of(status)` names an instance's target (from its custom status), or None when it has none yet."""
    rows: list[tuple[datetime, str, Any]] = []
    for status in statuses:
        instance_id = str(getattr(status, "instance_id", "") or "")
        if getattr(status, "name", None) != names.EXPORT_ORCHESTRATION or not is_export_instance_id(instance_id):
            continue
        runtime = getattr(getattr(status, "runtime_status", None), "name", None)
        if runtime not in query.statuses:
            continue
        created = _created(status)
        if created is None or (query.since is not None and created < query.since):
            continue
        if query.target is not None:
            named = target_of(status)
            if named != query.target and not (named is None and instance_id.startswith(f"export-{query.target}-")):
                continue
        rows.append((created, instance_id, status))
    rows.sort(key=lambda row: (row[0], row[1]), reverse=True)
    if query.after is not None:
        after_time = parse_timestamp(query.after[0])
        assert after_time is not None
        rows = [row for row in rows if (row[0], row[1]) < (after_time, query.after[1])]
    page = rows[: query.top]
    token = encode_token(to_iso(page[-1][0]), page[-1][1]) if len(rows) > query.top else None
    return [row[2] for row in page], token
