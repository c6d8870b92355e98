"""Validate a start request (webhook body and headers) before anything starts.

Every refusal is a `BadRequest` whose text goes into an RFC 9457 problem body,
so a caller learns exactly what to fix; nothing upstream is touched.

A caller picks a configured target and may replace its export parameters
(`params`, validated by the connector as in a targets file). Nothing else is
theirs to choose: where a credential is sent (`base_url`, `token_url`, the
sign-in authority), which credential (`auth`: the setting read as a bearer
token, the client id and secret, the token cache blob and its scopes), the
connector, the schedule and the poll policy all come from the targets file
only, so a function key cannot be turned into a way to read the app's secrets.

An `Idempotency-Key` is 1-200 visible ASCII characters, the whole header value
(a trailing newline is refused like any other control character). It names one
export whatever the target (`request_instance_id`); without it every request
is an export of its own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kernel.documents import DocumentError, load_json
from orchestrators.instance_ids import export_instance_id
from targets import Target, TargetsError
from targets.loader import parse_target

MAX_BODY_BYTES = 64 * 1024
OVERRIDABLE = frozenset({"name", "params"})
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")  # visible ASCII, no spaces; always used with fullmatch
WEBHOOK_RUN_KEY_PREFIX = "http:"  # schedule slots use ISO timestamps as run keys; callers' keys never collide
REQUEST_SCOPE = "request"  # where a target's name stands in a request's instance id: the key alone names the export


class BadRequest(ValueError):
    """The request cannot start an export; the message says why."""


@dataclass(frozen=True)
class StartRequest:
    target: Target
    run_key: str

    @property
    def instance_id(self) -> str:
        return request_instance_id(self.run_key)


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
        document = load_json(body.decode("utf-8") or "null")
    except UnicodeDecodeError:
        raise BadRequest("body is not valid JSON: it is not UTF-8 text") from None
    except DocumentError as exc:
        raise BadRequest(f"body is {exc}" if str(exc).startswith("not valid") else f"body: {exc}") from None
    if not isinstance(document, dict):
        raise BadRequest('body must be a JSON object like {"target": "<name>"} or {"target": {"name": "<name>", ...}}')
    return document


def _target(value: Any, configured: Callable[[], dict[str, Target]]) -> Target:
    if isinstance(value, str):
        return _configured(value, configured)
    if isinstance(value, dict):
        return _with_overrides(value, configured)
    raise BadRequest(
        "'target' must be the name of a configured target or an object naming one, like "
        '{"name": "<name>", "params": {...}}'
    )


def _configured(name: Any, configured: Callable[[], dict[str, Target]]) -> Target:
    known = configured()
    if not isinstance(name, str) or name not in known:
        names = ", ".join(sorted(known)) or "none configured"
        raise BadRequest(f"unknown target {name!r}; configured targets: {names}")
    return known[name]


def _with_overrides(value: dict[str, Any], configured: Callable[[], dict[str, Target]]) -> Target:
    """A configured target with the caller's `params` in place of its own; any other field is refused."""
    refused = sorted(set(value) - OVERRIDABLE)
    if refused:
        raise BadRequest(
            f"target.{', target.'.join(refused)}: cannot be set by a request; the endpoint, the credential, "
            "the connector, the schedule and the poll policy come only from the targets file (a request may "
            "name a configured target and replace its params)"
        )
    base = _configured(value.get("name"), configured)
    if "params" not in value:
        return base
    try:
        return parse_target({**base.to_input(), "params": value["params"]}, "target.")
    except TargetsError as exc:
        raise BadRequest(str(exc)) from None


def request_instance_id(run_key: str) -> str:
    """The instance a request's run key names, whatever its target: one Idempotency-Key is one export.

    The target is left out on purpose. With it, the same key for two targets would be two instance ids, and no
    check could stop two concurrent requests from starting both; without it, the host itself refuses to start
    over a running instance, and the handler compares the stored input to answer 409 for another target.
    """
    return export_instance_id(REQUEST_SCOPE, run_key)


def webhook_run_key(idempotency_key: str) -> str:
    """A caller's key in a namespace of its own: no key can name a schedule slot's run and pre-empt it."""
    return f"{WEBHOOK_RUN_KEY_PREFIX}{idempotency_key}"


def _run_key(headers: Mapping[str, str]) -> str:
    key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
    if key is None:
        return webhook_run_key(uuid.uuid4().hex)
    if IDEMPOTENCY_KEY.fullmatch(key) is None:  # `match` with `$` would let a trailing newline through
        raise BadRequest("Idempotency-Key must be 1-200 visible ASCII characters")
    return webhook_run_key(key)
