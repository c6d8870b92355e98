"""Both upstream error envelopes, read in one place, tolerant of every documented spelling.

Graph: `{"error": {code, message, target?, innerError|innererror: {code, ...}}}`.
SailPoint: `{detailCode, trackingId, messages: [{text}]}`, `{"error": "..."}` on 401,
`{"message": "..."}` on 429. Whatever arrives, the result is a short readable
message and a code, never the raw body (which could echo a header).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE = 500


@dataclass(frozen=True)
class ErrorDetails:
    message: str
    code: str | None = None
    target: str | None = None


def _load(body: bytes | str | None) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def parse_graph_error(body: bytes | str | None, fallback: str) -> ErrorDetails:
    data = _load(body)
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return ErrorDetails(_clip(fallback))
    inner = error.get("innerError") or error.get("innererror")
    inner_code = inner.get("code") if isinstance(inner, dict) else None
    code = inner_code if isinstance(inner_code, str) and inner_code != "unknown" else error.get("code")
    message = error.get("message")
    target = error.get("target")
    return ErrorDetails(
        _clip(message if isinstance(message, str) and message.strip() else fallback),
        code if isinstance(code, str) else None,
        target if isinstance(target, str) and target else None,
    )


def parse_sailpoint_error(body: bytes | str | None, fallback: str) -> ErrorDetails:
    data = _load(body)
    if not isinstance(data, dict):
        return ErrorDetails(_clip(fallback))
    texts = [m.get("text") for m in data.get("messages") or [] if isinstance(m, dict)]
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    for candidate in (*texts, data.get("error"), data.get("message")):
        if isinstance(candidate, str) and candidate.strip():
            code = data.get("detailCode")
            return ErrorDetails(_clip(candidate.strip()), code if isinstance(code, str) else None)
    return ErrorDetails(_clip(fallback))
