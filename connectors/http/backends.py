"""The one place that reaches httpx's private attributes to hand its transports a network backend.

httpx has no public way to give a client's connection pools a network backend of our own, yet two wrappers need
one: the per-call deadline (`deadline`) on every transport, and the connect-time address check of server-given
locations (`connect_guard`) on the direct one (a proxy resolves names itself). Both go through
`wrap_network_backends`, which refuses, rather than returns, a client whose backend is not where this httpx keeps
it (`Client._transport`, `Client._mounts`, `HTTPTransport._pool`, `ConnectionPool._network_backend`): a change of
them must never silently drop a deadline or an address check. The lock pins httpx and httpcore exactly, and
`tests/connectors/http/test_deadline_internals.py` names the attributes.
"""

from __future__ import annotations

from collections.abc import Callable

import httpcore
import httpx


class NetworkBackendUnreachable(RuntimeError):
    """A transport's network backend is not where this httpx version keeps it, so it cannot be wrapped."""


def wrap_network_backends(
    client: httpx.Client,
    wrap: Callable[[httpcore.NetworkBackend], httpcore.NetworkBackend],
    *,
    wrapper: type[httpcore.NetworkBackend],
    purpose: str,
    direct_only: bool = False,
    error: type[NetworkBackendUnreachable] = NetworkBackendUnreachable,
) -> httpx.Client:
    """Replace the network backend of `client`'s direct transport (and, unless `direct_only`, of every mounted one,
    proxies included) by `wrap(backend)`, once: a backend that already is a `wrapper` is left as it is.

    `error` (naming `purpose` and the httpx and httpcore versions) when a transport's backend cannot be reached."""
    transports = [getattr(client, "_transport", None)]
    if not direct_only:
        transports += getattr(client, "_mounts", {}).values()
    for transport in transports:
        if transport is None:  # a mount that routes a pattern to no transport at all (httpx allows it)
            continue
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if not isinstance(backend, httpcore.NetworkBackend):
            raise error(
                f"cannot {purpose} on {type(transport).__name__} of httpx {httpx.__version__} / "
                f"httpcore {httpcore.__version__}: its connection pool's network backend is not where "
                "connectors/http/backends.py expects it; pin the versions the lock names"
            )
        if not isinstance(backend, wrapper):
            pool._network_backend = wrap(backend)  # type: ignore[union-attr]
    return client
