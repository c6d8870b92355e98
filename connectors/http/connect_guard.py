"""Server-given locations are checked on the address they resolve to, at connect time.

Why at connect time: checking a host name and then letting the socket layer resolve it again leaves a window in
which DNS can answer differently (DNS rebinding: a public address for the check, 127.0.0.1 or 169.254.169.254
for the connection). So the client's network backend is wrapped: while the calling thread sends to a location
an upstream gave (`server_given`), the backend resolves the name itself, checks every address it got
(`addresses.server_given_refusal`), and connects to a checked address. TLS still uses the URL's host name for
SNI and the certificate check, because httpcore passes the origin's host to `start_tls`, not the address.

A refusal is an `UpstreamError` of kind PERMANENT (no retry can make the address acceptable), naming the host
and the address only. Requests to the configured API origin are not marked and connect as before. Through a
proxy the proxy resolves the name, so only the literal-host check made before the request applies.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from connectors.http.addresses import IPAddress, address_class, host_address, server_given_refusal
from connectors.http.backends import wrap_network_backends
from kernel.errors import ErrorKind, UpstreamError

Resolver = Callable[[str, int], list[IPAddress]]

_local = threading.local()


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to for a TCP connection, in the resolver's order, without repeats."""
    found: list[IPAddress] = []
    for _, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = host_address(str(sockaddr[0]).partition("%")[0])
        if address is not None and address not in found:
            found.append(address)
    return found


@contextmanager
def server_given() -> Iterator[None]:
    """Connections this thread opens meanwhile are to a location an upstream gave: check where they go."""
    previous = getattr(_local, "on", False)
    _local.on = True
    try:
        yield
    finally:
        _local.on = previous


def checked_addresses(host: str, port: int, resolver: Resolver = resolve) -> list[IPAddress]:
    """The addresses `host` resolves to, every one acceptable for a server-given location; else PERMANENT."""
    literal = host_address(host)
    try:
        addresses = [literal] if literal is not None else resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {type(exc).__name__}") from None
    if not addresses:
        raise httpcore.ConnectError(f"{host} resolves to no address")
    for address in addresses:
        reason = server_given_refusal(address_class(address))
        if reason is not None:
            raise UpstreamError(
                ErrorKind.PERMANENT,
                f"the server-given location on {host} resolves to {address}, which {reason}; refused",
            )
    return addresses


class GuardedBackend(httpcore.NetworkBackend):
    """A network backend that checks server-given destinations on their resolved addresses (see the module)."""

    def __init__(self, inner: httpcore.NetworkBackend, resolver: Resolver = resolve) -> None:
        self._inner = inner
        self._resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if not getattr(_local, "on", False):
            return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in checked_addresses(host, port, self._resolver):
            try:
                return self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the next checked address, as the socket layer would
        assert failure is not None  # checked_addresses returns at least one address
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return self._inner.connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guard_connections(client: httpx.Client, resolver: Resolver = resolve) -> httpx.Client:
    """Wrap the direct transport's network backend of `client` so server-given destinations are checked (a proxy
    resolves names itself); `NetworkBackendUnreachable` rather than a client whose connections go unchecked."""
    return wrap_network_backends(
        client,
        lambda backend: GuardedBackend(backend, resolver),
        wrapper=GuardedBackend,
        purpose="check server-given destinations at connect time",
        direct_only=True,
    )
