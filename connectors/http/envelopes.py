"""Both upstream error envelopes, read in one place, tolerant of every documented spelling.

Why: the server's message is what an `UpstreamError` carries, and the two services (and their own documents)
disagree on the shape:

- Graph: `{"error": {code, message, target?, innerError|innererror: {code, ...}}}`.
- SailPoint: `{detailCode, trackingId, messages: [{text}]}`; `{"error": "..."}` on
  401; `{"message": "..."}` on 429; OAuth's `{"error", "error_description"}`.

Whatever arrives, the result is a short single-line message (redacted, `kernel.redaction`) and a code,
never the raw body. A connector's spec names its parser (`errors.envelope`); the code that sends
requests takes the parser it is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kernel.redaction import clean_message, redact

MAX_BODY = 64 * 1024  # an error envelope is small; more than this is not one


@dataclass(frozen=True)
class ErrorDetails:
    """What an error body told us: a readable message, the most specific code, and a target (Graph)."""

    message: str
    code: str | None = None
    target: str | None = None


ErrorParser = Callable[..., ErrorDetails]  # (body, fallback, *secrets to redact)


def error_body_json(body: bytes | str | None) -> Any:
    """An error body as JSON, or None when it is empty, larger than `MAX_BODY` or not JSON."""
    if not body or len(body) > MAX_BODY:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _identifier(value: object, *secrets: str | None) -> str | None:
    """A code or target: short, printable and holding no secret, or nothing."""
    text = _text(value)
    usable = text is not None and len(text) <= 200 and text.isprintable() and redact(text, *secrets) == text
    return text if usable else None


def parse_graph_error(body: bytes | str | None, fallback: str, *secrets: str | None) -> ErrorDetails:
    """Graph's envelope; the inner code wins over the outer one unless it is the uninformative `unknown`."""
    data = error_body_json(body)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):
        return ErrorDetails(clean_message(_text(error) or fallback, *secrets))
    if not isinstance(error, dict):
        return ErrorDetails(clean_message(fallback, *secrets))
    inner = error.get("innerError") or error.get("innererror")
    inner_code = _identifier(inner.get("code"), *secrets) if isinstance(inner, dict) else None
    code = inner_code if inner_code not in (None, "unknown") else _identifier(error.get("code"), *secrets)
    message = _text(error.get("message")) or fallback
    return ErrorDetails(clean_message(message, *secrets), code, _identifier(error.get("target"), *secrets))


def parse_sailpoint_error(body: bytes | str | None, fallback: str, *secrets: str | None) -> ErrorDetails:
    """SailPoint's envelopes: the first message text, else `error`, else `message`; code from `detailCode`."""
    data = error_body_json(body)
    if not isinstance(data, dict):
        return ErrorDetails(clean_message(fallback, *secrets))
    messages = data.get("messages")
    texts = [_text(m.get("text")) for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
    oauth = _text(data.get("error_description"))
    error = _text(data.get("error"))
    candidates = [*texts, f"{error}: {oauth}" if error and oauth else error, _text(data.get("message"))]
    message = next((text for text in candidates if text), fallback)
    code = _identifier(data.get("detailCode"), *secrets) or (_identifier(error, *secrets) if oauth else None)
    return ErrorDetails(clean_message(message, *secrets), code)


def parse_salesforce_error(body: bytes | str | None, fallback: str, *secrets: str | None) -> ErrorDetails:
    """Salesforce's REST errors, a JSON array of `{"errorCode", "message"}` (the first entry wins), or its OAuth
    endpoint's `{"error", "error_description"}`."""
    data = error_body_json(body)
    if isinstance(data, list):
        first = next((entry for entry in data if isinstance(entry, dict)), None)
        if first is None:
            return ErrorDetails(clean_message(fallback, *secrets))
        message = _text(first.get("message")) or fallback
        return ErrorDetails(clean_message(message, *secrets), _identifier(first.get("errorCode"), *secrets))
    if isinstance(data, dict):
        error, description = _text(data.get("error")), _text(data.get("error_description"))
        if error or description:
            message = f"{error}: {description}" if error and description else (error or description or fallback)
            return ErrorDetails(clean_message(message, *secrets), _identifier(error, *secrets))
    return ErrorDetails(clean_message(fallback, *secrets))
