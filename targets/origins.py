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

import ipaddress
from collections.abc import Mapping

import app_settings
from connectors.urls import check_base_url, is_loopback, origin_of

ALLOW_LOOPBACK = "EXPORTS_ALLOW_LOOPBACK_UPSTREAMS"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def loopback_allowed(environ: Mapping[str, str] | None = None) -> bool:
    return app_settings.get(ALLOW_LOOPBACK, environ).strip().lower() in TRUE_WORDS


def reaches_this_machine(host: str) -> bool:
    """Loopback names and addresses, the unspecified address and their IPv4-mapped IPv6 forms.

    A DNS name that merely resolves to 127.0.0.1 is not caught here: that is the DNS owner's choice.
    """
    if is_loopback(host):
        return True
    try:
        address = ipaddress.ip_address(host.lower().strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None) or address
    return address.is_unspecified or mapped.is_loopback or mapped.is_unspecified


def check_origin_policy(url: str, what: str, environ: Mapping[str, str] | None = None) -> str:
    """`url` unchanged, or ValueError when it names a loopback host while loopback upstreams are off."""
    _, host, _ = origin_of(url)
    if reaches_this_machine(host) and not loopback_allowed(environ):
        raise ValueError(
            f"{what} {url!r} is on this machine (loopback); allowed only when {ALLOW_LOOPBACK} is on "
            "(local development)"
        )
    return url


def check_credential_url(url: str, what: str, environ: Mapping[str, str] | None = None) -> str:
    """A configured URL a credential is sent to (`base_url`, `token_url`), validated once: the URL rules of the
    connectors (absolute https, http only for loopback, no credentials, query or fragment), then the loopback
    switch. Returned stripped; a base URL also loses its trailing slash (`connectors.urls.check_base_url`)."""
    normalised = check_base_url(url, what)
    return check_origin_policy(normalised if what == "base_url" else url.strip(), what, environ)
