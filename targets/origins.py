"""Where a credential may be sent: the origins a target may name, and the one switch for loopback upstreams.

A target's `base_url`, `token_url` and `authority_host` are where its bearer
token, client secret or refresh token go, so they come only from the targets
file (never from a request) and must be https. Plain http is accepted for
loopback only, and loopback itself only when `EXPORTS_ALLOW_LOOPBACK_UPSTREAMS`
is on: a developer machine, the test suite, the demo and the local CLI run
against the upstream simulator on 127.0.0.1; a Function App in Azure must never
hand a credential to whatever listens on its own loopback interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from connectors.http.addresses import ALLOW_LOOPBACK, loopback_allowed
from connectors.http.urls import check_base_url, is_loopback, origin_of

__all__ = ["ALLOW_LOOPBACK", "check_credential_url", "check_origin_policy", "loopback_allowed", "reaches_this_machine"]


def reaches_this_machine(host: str) -> bool:
    """Loopback names and addresses in every spelling a connection reads as one (`connectors.http.addresses`):
    `localhost`, 127/8 (`127.1`, `0x7f.1`, `0177.0.0.1`, `2130706433`), `::1`, the unspecified address (`0`)
    and IPv4-mapped forms.

    A configured DNS name that merely resolves to 127.0.0.1 is not caught here: that is the DNS owner's choice
    (server-given locations, in contrast, are checked on their resolved address when they connect).
    """
    return is_loopback(host)


def _host_as_written(url: str) -> str:
    """The host of `url` as split, before any stricter parsing (which refuses `0177.0.0.1` as unsendable)."""
    try:
        return urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""


def check_origin_policy(url: str, what: str, environ: Mapping[str, str] | None = None) -> str:
    """`url` unchanged, or ValueError when it names a loopback host while loopback upstreams are off (checked on
    the host as written first, so every spelling of loopback is named as such) or is not an absolute URL."""
    if reaches_this_machine(_host_as_written(url)) and not loopback_allowed(environ):
        raise ValueError(
            f"{what} {url!r} is on this machine (loopback); allowed only when {ALLOW_LOOPBACK} is on "
            "(local development)"
        )
    origin_of(url)
    return url


def check_credential_url(url: str, what: str, environ: Mapping[str, str] | None = None) -> str:
    """A configured URL a credential is sent to (`base_url`, `token_url`), validated once: the loopback switch,
    then the URL rules of the connectors (absolute https, http only for loopback, no credentials, query or
    fragment). Returned stripped; a base URL also loses its trailing slash (`connectors.http.urls.check_base_url`)."""
    if reaches_this_machine(_host_as_written(url)):  # the switch first: every spelling of loopback is named so
        check_origin_policy(url.strip(), what, environ)
    normalised = check_base_url(url, what)
    return check_origin_policy(normalised if what == "base_url" else url.strip(), what, environ)
