"""Upstream job ids, both ways: one the upstream sends is checked, one we send back is escaped.

Why: an id is sent back to poll the job, so it is kept exactly (never hashed or trimmed), but it is hostile
input: one that is empty, too long or unprintable is no id this client can use or show, and one that carries the
credential sent to the upstream (in any form `redaction` knows) would carry it into manifests, histories and
events, so it is refused, as is a download location that does. Going out, an opaque
id becomes exactly one path segment, so no id can reach another path of the API.
"""

from __future__ import annotations

from urllib.parse import quote

from kernel.errors import ErrorKind, UpstreamError
from kernel.redaction import holds_secret

MAX_ID = 256  # Graph's and SailPoint's ids are under 100 characters; a longer one is not an id


def upstream_id(value: object, what: str = "job id", *, secret: str | None = None) -> str:
    """An upstream id kept exactly (it is sent back to poll the job), or a PERMANENT protocol error; `secret` is
    the credential the answer's request carried, which the id must not hold."""
    if not isinstance(value, str) or not value or len(value) > MAX_ID or not value.isprintable():
        shown = f"{len(value)} characters" if isinstance(value, str) else type(value).__name__
        raise UpstreamError(ErrorKind.PERMANENT, f"the upstream answered an unusable {what} ({shown}); refused")
    return without_credential(value, what, secret)


def without_credential(value: str, what: str, secret: str | None) -> str:
    """`value` (a job id, a download location), unless it holds `secret`: then a PERMANENT error that names what
    was refused, never the value."""
    if holds_secret(value, secret):
        raise UpstreamError(
            ErrorKind.PERMANENT, f"the upstream answered a {what} that holds the credential sent to it; refused"
        )
    return value


def path_segment(value: str, what: str = "job id") -> str:
    """An opaque upstream id as exactly one path segment: `/`, `?`, `#`, `%` escaped, and `.`/`..` too."""
    if not value:
        raise UpstreamError(ErrorKind.PERMANENT, f"an empty {what} cannot be requested")
    escaped = quote(value, safe="")
    return escaped.replace(".", "%2E") if escaped in (".", "..") else escaped
