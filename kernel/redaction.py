"""Free text from outside, made safe to keep: secrets blanked, one line, bounded, marked when cut.

Why: users complain most that the upstream's own reason never reaches them, so the server's words are kept;
but a body could echo a request header, so anything shaped like a bearer token or a JWT (and every secret the
caller names) is blanked before the text goes anywhere. A secret is found in whatever form it was echoed:
ignoring case, percent-encoded with upper- or lower-case hex (also twice over), form-encoded (`+` for a space),
and base64 (standard or URL alphabet, at any alignment inside a longer base64 text). `clip` is the one way every
bounded text is cut, also by the orchestrator and the event sink, so this module depends on nothing but the
standard library.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re

MAX_MESSAGE = 500
MAX_STATUS = 64  # a status value is one word; a longer one is cut (and then maps to no known state)
REDACTED = "[redacted]"
_SECRET_SHAPES = re.compile(
    r"(?i:bearer)\s+(?:\[redacted\]|[A-Za-z0-9._~+/=-]{16,})"  # an Authorization header value
    r"|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"  # a JWT (header.payload[.signature])
)


MIN_BASE64 = 16  # a base64 form shorter than this could match by chance; a shorter secret is matched as text only


def _base64_forms(secret: str) -> list[str]:
    """The characters that encode `secret` in base64 wherever it starts in the encoded bytes (3 alignments), in
    both alphabets: the characters that also carry a neighbour's bits are left out, so an embedded copy matches."""
    raw = secret.encode("utf-8", "surrogatepass")
    forms: list[str] = []
    for lead, skip in ((0, 0), (1, 2), (2, 3)):
        data = b"\0" * lead + raw
        core = base64.b64encode(data).decode()[skip : 4 * (len(data) // 3)]
        if len(core) >= MIN_BASE64:
            forms += [core, core.replace("+", "-").replace("/", "_")]
    return forms


@functools.lru_cache(maxsize=64)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    """`secret` as echoed in any case, with any character percent-encoded (any hex case, encoded again any number
    of times), a space as `+`, or in base64."""
    chars = []
    for char in secret:
        forms = [re.escape(char), "".join(f"%(?:25)*{byte:02x}" for byte in char.encode("utf-8", "surrogatepass"))]
        if char == " ":
            forms.append(r"\+")
        chars.append(f"(?:{'|'.join(forms)})")
    alternatives = ["".join(chars), *(re.escape(form) for form in _base64_forms(secret))]
    return re.compile("|".join(alternatives), re.IGNORECASE)


def holds_secret(text: str, *secrets: str | None) -> bool:
    """Whether `text` carries any of `secrets` in any form `redact` blanks."""
    return any(secret and _secret_pattern(secret).search(text) for secret in secrets)


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every given secret (in any form `_secret_pattern` knows), bearer header value and JWT-shaped
    string replaced."""
    for secret in secrets:
        if secret:
            text = _secret_pattern(secret).sub(REDACTED, text)
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
