"""Validate a start request (webhook body and headers) before anything starts.

Every refusal is a `BadRequest` whose text goes into an RFC 9457 problem body,
so a caller learns exactly what to fix; nothing upstream is touched.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from targets import Target, TargetsError
from targets.loader import parse_target

MAX_BODY_BYTES = 64 * 1024
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, no spaces


class BadRequest(ValueError):
    """The request cannot start an export; the message says why."""


@dataclass(frozen=True)
class StartRequest:
    target: Target
    run_key: str


def parse_start_request(
    body: bytes, headers: Mapping[str, str], configured: Callable[[], dict[str, Target]]
) -> StartRequest:
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"request body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    document = _json_object(body)
    unknown = set(document) - {"target"}
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}; expected only 'target'")
    target = _target(document.get("target"), configured)
    return StartRequest(target, _run_key(headers))


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BadRequest('body must be a JSON object like {"target": "<name>"} or {"target": {...}}')
    return document


def _target(value: Any, configured: Callable[[], dict[str, Target]]) -> Target:
    if isinstance(value, str):
        known = configured()
        if value not in known:
            names = ", ".join(sorted(known)) or "none configured"
            raise BadRequest(f"unknown target {value!r}; configured targets: {names}")
        return known[value]
    if isinstance(value, dict):
        try:
            return parse_target(value, "target.")
        except TargetsError as exc:
            raise BadRequest(str(exc)) from None
    raise BadRequest("'target' must be the name of a configured target or an inline target object")


def _run_key(headers: Mapping[str, str]) -> str:
    key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
    if key is None:
        return uuid.uuid4().hex
    if not IDEMPOTENCY_KEY.match(key):
        raise BadRequest("Idempotency-Key must be 1-200 visible ASCII characters")
    return key
