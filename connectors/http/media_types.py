"""The upstream's `Content-Type`, checked before it becomes a blob's content type and a manifest field.

Why: the value is copied into the blob's properties, the manifest and the event, so it is hostile input like
any other. A 7 KB media type made the blob commit fail, and the whole export was downloaded again at every retry.
A value is used only when it is a well-formed `type/subtype` of RFC 7230 token characters, with optional
parameters that are themselves well-formed, at most 255 characters in all; the blob then gets the bare
`type/subtype`, lower-cased (media types are case-insensitive and readers compare them exactly). Anything else
is stored as `application/octet-stream`, and what was refused is kept, redacted and cut, so the manifest says so.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from kernel.redaction import clean_message

FALLBACK = "application/octet-stream"
MAX_MEDIA_TYPE = 255
MAX_SHOWN = 100  # the refused value as the manifest shows it
_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[\t !#-\[\]-~]|\\[\t -~])*"'
_MEDIA_TYPE = re.compile(rf"({_TCHARS})/({_TCHARS})(?:[ \t]*;[ \t]*{_TCHARS}=(?:{_TCHARS}|{_QUOTED}))*")


class MediaType(NamedTuple):
    value: str  # what the blob gets
    refused: str | None = None  # the upstream's value when it was not usable: redacted, one line, bounded


def checked_media_type(raw: str | None, *secrets: str | None) -> MediaType:
    """The content type to store for an upstream `Content-Type` (None: absent, stored as octet-stream)."""
    if raw is None or not raw.strip():
        return MediaType(FALLBACK)
    text = raw.strip()
    match = _MEDIA_TYPE.fullmatch(text) if len(text) <= MAX_MEDIA_TYPE else None
    if match is None:
        printable = "".join(c if c.isprintable() else "?" for c in text)
        return MediaType(FALLBACK, clean_message(printable, *secrets, limit=MAX_SHOWN))
    return MediaType(f"{match.group(1)}/{match.group(2)}".lower())
