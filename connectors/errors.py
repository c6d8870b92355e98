"""Both upstream error envelopes, read in one place, tolerant of every documented spelling.

Why: users complain most that the upstream's own reason never reaches them,
so the server's message is what an `UpstreamError` carries, and the two
services (and their own documents) disagree on the shape:

- Graph: `{"error": {code, message, target?, innerError|innererror: {code, ...}}}`.
- SailPoint: `{detailCode, trackingId, messages: [{text}]}`; `{"error": "..."}` on
  401; `{"message": "..."}` on 429; OAuth's `{"error", "error_description"}`.

Whatever arrives, the result is a short single-line message and a code, never
the raw body. A body could echo a request header, so anything shaped like a
bearer token or a JWT is blanked out of the message before it goes anywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from connectors.base import ErrorKind, UpstreamError

MAX_MESSAGE = 500
MAX_ID = 256  # Graph's and SailPoint's ids are under 100 characters; a longer one is not an id
MAX_STATUS = 64  # a status value is one word; a longer one is cut (and then maps to no known state)
MAX_BODY = 64 * 1024  # an error envelope is small; more than this is not one
REDACTED = "[redacted]"
_SECRET_SHAPES = re.compile(
    r"(?i:bearer)\s+(?:\[redacted\]|[A-Za-z0-9._~+/=-]{16,})"  # an Authorization header value
    r"|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"  # a JWT (header.payload[.signature])
)


@dataclass(frozen=True)
class ErrorDetails:
    """What an error body told us: a readable message, the most specific code, and a target (Graph)."""

    message: str
    code: str | None = None
    target: str | None = None


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every given secret (as is or URL-encoded), bearer header value and JWT-shaped string replaced."""
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote(secret, safe="/")}:
                text = text.replace(form, REDACTED)
    return _SECRET_SHAPES.sub(REDACTED, text)


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters; a cut one ends with its length and a short digest, so it says it
    was cut and two cut texts stay distinguishable. The one way every bounded text is cut."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]
    tail = f"… [{len(text)} chars, sha256 {digest}]"
    return (text[: max(limit - len(tail), 0)] + tail)[:limit]


def clean_message(text: str, *secrets: str | None, limit: int = MAX_MESSAGE) -> str:
    """Upstream free text as one line of at most `limit` characters, redacted before it is cut, marked if cut."""
    return clip(redact(" ".join(text.split()), *secrets), limit)


def upstream_id(value: object, what: str = "job id") -> str:
    """An upstream id kept exactly (it is sent back to poll the job), or a PERMANENT protocol error.

    An id is not hashed: the upstream must recognise it when it is sent back. One that is empty, longer than
    `MAX_ID` or holds unprintable characters is no id this client can use or show.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_ID or not value.isprintable():
        shown = f"{len(value)} characters" if isinstance(value, str) else type(value).__name__
        raise UpstreamError(ErrorKind.PERMANENT, f"the upstream answered an unusable {what} ({shown}); refused")
    return value


def _load(body: bytes | str | None) -> Any:
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
    data = _load(body)
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
    data = _load(body)
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
