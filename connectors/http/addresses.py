"""What a host name or address reaches, read the way a connection would read it, and which classes we refuse.

Why one place: the loopback switch for configured URLs, the check of server-given locations and the check made
at connect time must all agree on what "loopback" or "private" means, whatever spelling the host arrives in.
A connection resolves `127.1`, `0x7f.1`, `0177.0.0.1`, `2130706433` and `0` with the C library's `inet_aton`
(all of them name 127.0.0.1 or 0.0.0.0), so a host is read the same way before it is classified; IPv6 literals
are read by `ipaddress`, and an IPv4-mapped address (`::ffff:127.0.0.1`) is classified as the IPv4 address it maps.

Classes: loopback (127/8, ::1, the unspecified 0.0.0.0 and :: which reach this machine, `localhost` and names
under `.localhost`), link-local or metadata (169.254/16 with the instance metadata address 169.254.169.254,
fe80::/10, Azure's platform address 168.63.129.16, fd00:ec2::254),
private (10/8, 172.16/12, 192.168/16, CGNAT 100.64/10, unique-local fc00::/7), reserved (0/8, multicast,
broadcast, documentation, benchmarking and every other range that is not globally routable) and public.
"""

from __future__ import annotations

import enum
import ipaddress
import socket
from collections.abc import Mapping

import app_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_LOOPBACK = "EXPORTS_ALLOW_LOOPBACK_UPSTREAMS"
ALLOW_PRIVATE = "EXPORTS_ALLOW_PRIVATE_UPSTREAMS"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})

_PRIVATE = tuple(
    ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
# Link-local, and the platform addresses clouds answer on: Azure's wire server and DNS (168.63.129.16, a public
# range) and the IPv6 instance metadata address another cloud uses (inside fc00::/7, so apart from "private").
_LINK_LOCAL = tuple(
    ipaddress.ip_network(net) for net in ("169.254.0.0/16", "fe80::/10", "168.63.129.16/32", "fd00:ec2::254/128")
)
_IPV4_CHARACTERS = frozenset("0123456789abcdefx.")


class AddressClass(enum.Enum):
    LOOPBACK = "loopback"
    LINK_LOCAL = "link-local or metadata"
    PRIVATE = "private network"
    RESERVED = "reserved or non-routable"
    PUBLIC = "public"


def host_address(host: str) -> IPAddress | None:
    """The address a literal host names, read as a connection would (`inet_aton` for IPv4); None for a name."""
    name = host.strip().lower().strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if not name or not set(name) <= _IPV4_CHARACTERS:
        return None  # inet_aton would also read "1.2.3.4 junk"; a URL's host holds no space, and we read none
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None


def address_class(address: IPAddress) -> AddressClass:
    """The class of one address; an IPv4-mapped IPv6 address is classified as the IPv4 address it maps."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    address = mapped or address
    if address.is_loopback or address.is_unspecified:
        return AddressClass.LOOPBACK
    if any(address in net for net in _LINK_LOCAL):
        return AddressClass.LINK_LOCAL
    if any(address in net for net in _PRIVATE):
        return AddressClass.PRIVATE
    if address.is_multicast or address.is_reserved or not address.is_global:
        return AddressClass.RESERVED
    return AddressClass.PUBLIC


def host_class(host: str) -> AddressClass | None:
    """The class of a literal host (any spelling) or of `localhost`; None for a DNS name, known only once resolved."""
    name = host.strip().lower().strip("[]").rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return AddressClass.LOOPBACK
    address = host_address(name)
    return None if address is None else address_class(address)


def _switch(name: str, environ: Mapping[str, str] | None) -> bool:
    return app_settings.get(name, environ).strip().lower() in TRUE_WORDS


def loopback_allowed(environ: Mapping[str, str] | None = None) -> bool:
    return _switch(ALLOW_LOOPBACK, environ)


def private_allowed(environ: Mapping[str, str] | None = None) -> bool:
    return _switch(ALLOW_PRIVATE, environ)


def server_given_refusal(kind: AddressClass | None, environ: Mapping[str, str] | None = None) -> str | None:
    """Why a server-given location of class `kind` may not be reached (None: it may), by the two switches.

    Loopback follows the loopback switch exactly as configured URLs do; private ranges need their own switch;
    link-local (cloud metadata) and reserved addresses are never reached from a server-given location.
    """
    if kind is AddressClass.LOOPBACK and not loopback_allowed(environ):
        return f"is on this machine (loopback), allowed only when {ALLOW_LOOPBACK} is on"
    if kind is AddressClass.PRIVATE and not private_allowed(environ):
        return f"is on a private network, allowed for server-given locations only when {ALLOW_PRIVATE} is on"
    if kind in (AddressClass.LINK_LOCAL, AddressClass.RESERVED):
        return f"is a {kind.value} address, never reached from a server-given location"
    return None
