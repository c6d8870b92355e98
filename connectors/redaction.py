"""Free text from outside, made safe to keep: secrets blanked, one line, bounded, marked when cut.

Why: users complain most that the upstream's own reason never reaches them, so the server's words are kept;
but a body could echo a request header, so anything shaped like a bearer token or a JWT (and every secret the
caller names) is blanked before the text goes anywhere. `clip` is the one way every bounded text is cut, also by
the orchestrator and the event sink, so this module depends on nothing but the standard library.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

MAX_MESSAGE = 500
MAX_STATUS = 64  # a status value is one word; a longer one is cut (and then maps to no known state)
REDACTED = "[redacted]"
_SECRET_SHAPES = re.compile(
    r"(?i:bearer)\s+(?:\[redacted\]|[A-Za-z0-9._~+/=-]{16,})"  # an Authorization header value
    r"|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"  # a JWT (header.payload[.signature])
)


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
