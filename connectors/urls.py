"""Which URLs a bearer token may go to, and which server-given locations may be fetched at all.

Why: a token may go only to the configured API origin. Download locations and redirects come from the server;
they get no Authorization header when they point elsewhere (`same_origin`), and must be https unless they are
loopback. A configured base URL is checked here once, by the rules every credential-bearing URL follows
(`targets.origins` adds the loopback switch on top).
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple
from urllib.parse import urlsplit

from connectors.base import ErrorKind, UpstreamError

MAX_URL = 8192  # pre-signed URLs run to a few hundred characters
DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int

    def url(self) -> str:
        """`scheme://host[:port]`, the port only when it is not the scheme's default."""
        port = "" if self.port == DEFAULT_PORTS[self.scheme] else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}"


def origin_of(url: str) -> Origin:
    """(scheme, host, port) of an absolute http(s) URL, default ports filled in; ValueError otherwise."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    return Origin(scheme, host, parts.port or DEFAULT_PORTS[scheme])  # .port raises ValueError when out of range


def same_origin(url: str, other: str) -> bool:
    try:
        return origin_of(url) == origin_of(other)
    except ValueError:
        return False


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 — addresses that never leave this machine."""
    name = host.lower().strip("[]").rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, what: str = "base_url") -> str:
    """A configured URL a credential goes to (`what` names it in errors): absolute http(s), http only for
    loopback, no credentials, query or fragment; returned stripped, without a trailing slash."""
    try:
        scheme, host, _ = origin_of(url)
    except ValueError:
        raise ValueError(f"{what} must be an absolute http(s) URL, got {url!r}") from None
    parts = urlsplit(url.strip())
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ValueError(f"{what} must not carry credentials, a query or a fragment, got {url!r}")
    if scheme == "http" and not is_loopback(host):
        raise ValueError(f"{what} must use https (http is allowed only for loopback), got {url!r}")
    return url.strip().rstrip("/")


def check_download_url(url: str) -> str:
    """A server-given location we may fetch: absolute http(s), https unless loopback, of sane length and with no
    control character or inner whitespace (no retry can make such a URL work); else PERMANENT."""
    text = url.strip()
    if len(text) > MAX_URL:
        raise UpstreamError(ErrorKind.PERMANENT, f"the download location is longer than {MAX_URL} characters")
    if any(ord(c) < 0x21 or 0x7F <= ord(c) <= 0x9F for c in text):
        raise UpstreamError(ErrorKind.PERMANENT, "the download location holds a control character or whitespace")
    try:
        scheme, host, _ = origin_of(url)
    except ValueError:
        raise UpstreamError(ErrorKind.PERMANENT, "the download location is not an absolute http(s) URL") from None
    if urlsplit(url.strip()).username is not None:
        raise UpstreamError(ErrorKind.PERMANENT, f"the download location on {host} embeds credentials; refused")
    if scheme == "http" and not is_loopback(host):
        raise UpstreamError(
            ErrorKind.PERMANENT,
            f"the download location on {host} is plain http; only https is accepted off this machine",
        )
    return url.strip()
