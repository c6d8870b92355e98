"""An upstream URL as telemetry may record it: origin and route template, never the path's ids or the query.

Why: a job id, a download path or a pre-signed query string (a SAS signature, a token) may all sit in a URL,
and an echoing upstream can put a credential in any of them. So only words survive: a path segment is kept
when it looks like a route word (`exportJobs`, `sp-config`, `v2025`, `content`), and anything else (GUIDs,
numbers, opaque ids, encoded text) becomes `{id}`. The query and fragment are dropped whole.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

ROUTE_WORD = re.compile(r"^(?:[A-Za-z][A-Za-z_-]{0,31}|v\d{1,4}(?:\.\d{1,2})?)$")
PLACEHOLDER = "{id}"
MAX_SEGMENTS = 12


def route_template(url: str) -> str:
    """The path of `url` with every id replaced by `{id}` (`/beta/employeeExperience/goals/exportJobs/{id}`)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return "/" + PLACEHOLDER
    segments = [s for s in path.split("/") if s][:MAX_SEGMENTS]
    return "/" + "/".join(s if ROUTE_WORD.match(s) and _not_id_like(s) else PLACEHOLDER for s in segments)


def _not_id_like(segment: str) -> bool:
    """A word, not a run of letters that happens to be an id: no long mixed-case runs without separators."""
    return len(segment) <= 24 or "-" in segment or segment.islower()


def origin(url: str) -> str:
    """`scheme://host[:port]` of `url` without user info; `unknown` when it cannot be read."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "unknown"
    if not host or not re.fullmatch(r"[A-Za-z0-9.:\[\]-]{1,255}", host):
        return "unknown"
    return f"{parts.scheme}://{host}{port}"


def recorded_url(url: str) -> str:
    """What a span records as the URL: origin plus route template, no query, no ids."""
    return origin(url) + route_template(url)
