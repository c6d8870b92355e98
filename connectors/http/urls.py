"""Which URLs a bearer token may go to, and which server-given locations may be fetched at all.

Why: a token may go only to the configured API origin. Download locations and redirects come from the server;
they get no Authorization header when they point elsewhere (`same_origin`), and must be https unless they are
loopback. A configured base URL is checked here once, by the rules every credential-bearing URL follows
(`targets.origins` adds the loopback switch on top). A location on another origin than the configured one is
server-given: it is refused when its literal host is of a class `addresses.server_given_refusal` names, and its
connections are checked again on the resolved address (`connect_guard`).

A URL is parsed here the way the HTTP client and the socket layer will read it (httpx's parser, then the host's
labels as the resolver encodes them), so a URL that cannot be sent (`https://xn--/x`, a 64-character label, a
bad port) is refused before any request, as a ValueError from configuration and PERMANENT from an upstream.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

import httpx

from connectors.http.addresses import AddressClass, host_address, host_class, server_given_refusal
from kernel.errors import ErrorKind, UpstreamError

MAX_URL = 8192  # pre-signed URLs run to a few hundred characters
MAX_HOST = 253  # the longest DNS name; each label at most 63 (the resolver's own limit)
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
    port = parts.port or DEFAULT_PORTS[scheme]  # .port raises ValueError when out of range
    _check_sendable(url.strip())
    return Origin(scheme, host, port)


def _check_sendable(url: str) -> None:
    """ValueError unless httpx can build a request to `url` and the resolver can encode its host name."""
    try:
        parsed = httpx.URL(url)
        parsed.host  # noqa: B018 - decoding the host is where httpx refuses a malformed A-label (`xn--`)
        raw = parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, ValueError):  # idna's errors are ValueErrors too
        raise ValueError(f"cannot be parsed as a URL: {url!r}") from None
    if host_address(raw) is not None:
        return
    name = raw.rstrip(".")
    try:
        if not name or len(name) > MAX_HOST:
            raise UnicodeError("empty or too long")
        name.encode("idna")  # every label 1 to 63 characters, as the socket layer requires
    except UnicodeError:
        raise ValueError(f"the host name cannot be resolved as written: {url!r}") from None


def same_origin(url: str, other: str) -> bool:
    try:
        return origin_of(url) == origin_of(other)
    except ValueError:
        return False


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8, ::1, the unspecified address, IPv4-mapped forms and every numeric spelling a
    connection reads as one of them (`127.1`, `0x7f.1`, `2130706433`, `0`): hosts that never leave this machine."""
    return host_class(host) is AddressClass.LOOPBACK


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


def check_server_given(url: str) -> str:
    """A location an upstream gave, off the configured origin: `check_download_url`, then its literal host must
    not be of a class a server-given location may not reach (loopback with the switch off, private without its
    switch, link-local, metadata, reserved); else PERMANENT. Names are checked again once resolved, at connect."""
    text = check_download_url(url)
    host = origin_of(text).host
    reason = server_given_refusal(host_class(host))
    if reason is not None:
        raise UpstreamError(ErrorKind.PERMANENT, f"the server-given location on {host} {reason}; refused")
    return text
