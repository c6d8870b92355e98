"""A total deadline for every upstream call, enforced on each socket operation.

Why at the socket: httpx's timeouts bound each read, not a whole call, so a server trickling one byte
every 59 s keeps a call with a 60 s read timeout alive for ever, and that happens while the status line
and headers are read as much as in the body. So the client's network backend is wrapped: every connect,
read and write is given at most the time left before the calling thread's deadline, and refused once it
has passed. The deadline is per thread (a `threading.local`), so one shared client serves every activity
call at once, each under its own deadline; a thread with no deadline set sees httpx's timeouts unchanged.

The wrappers implement httpcore's public `NetworkBackend` and `NetworkStream` interfaces, but httpx offers no
public way to hand its transports a network backend, so `enforce_deadlines` sets it on each transport's
connection pool through private attributes (`backends.wrap_network_backends`, the one place that does, for the
connect guard too). So that a change of them can never silently drop the deadline, it refuses
(`DeadlineNotEnforceable`) to return a client it could not wrap, which every test that builds a client then
shows; `tests/connectors/http/test_deadline_internals.py` names the attributes, and the lock, which is what Azure
installs, pins httpx and httpcore exactly.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from connectors.http.backends import NetworkBackendUnreachable, wrap_network_backends

_local = threading.local()


class DeadlineExceeded(httpcore.ReadTimeout):
    """The calling thread's deadline passed during a socket operation (httpx maps it to a ReadTimeout)."""


class DeadlineNotEnforceable(NetworkBackendUnreachable):
    """This httpx/httpcore keeps its network backend elsewhere: no client is handed out without the deadline."""


def _remaining() -> float | None:
    at: float | None = getattr(_local, "at", None)
    return None if at is None else at - time.monotonic()


def deadline_passed(slack_s: float = 0.05) -> bool:
    """True when this thread's deadline has passed (a socket timeout may fire a few milliseconds early)."""
    remaining = _remaining()
    return remaining is not None and remaining <= slack_s


def _clamp(timeout: float | None) -> float | None:
    remaining = _remaining()
    if remaining is None:
        return timeout
    if remaining <= 0:
        raise DeadlineExceeded("the call's total deadline has passed")
    return remaining if timeout is None else min(timeout, remaining)


@contextmanager
def deadline_at(moment: float) -> Iterator[None]:
    """Socket operations of this thread end by `moment` (time.monotonic); an outer, earlier deadline wins."""
    previous: float | None = getattr(_local, "at", None)
    _local.at = moment if previous is None else min(previous, moment)
    try:
        yield
    finally:
        _local.at = previous


def within(seconds: float) -> Any:
    """Socket operations of this thread end within `seconds` from now."""
    return deadline_at(time.monotonic() + seconds)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, _clamp(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def enforce_deadlines(client: httpx.Client) -> httpx.Client:
    """Wrap the network backend of every transport of `client` (direct and proxied) so deadlines apply.

    `DeadlineNotEnforceable` if a transport's backend is not where this httpx version keeps it."""
    return wrap_network_backends(
        client, _Backend, wrapper=_Backend, purpose="set the per-call deadline", error=DeadlineNotEnforceable
    )
