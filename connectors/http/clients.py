"""One `httpx.Client` per process, origin and transport settings, shared by every activity call.

Why: an activity call used to build a client of its own, so every poll opened a new connection (a new TLS
handshake on https) and left it for the garbage collector. A shared client keeps its connections alive
between polls of the same worker. httpx clients are safe to use from several threads at once; the table is
guarded by a lock, and every client is closed when the interpreter exits.

Socket reads are 1 MiB rather than httpcore's 64 KiB. httpcore reads a response a fixed-size piece at a
time and sets the socket's timeout before each read, so a 64 KiB read costs several system calls and a
pass through h11 and httpx for every 64 KiB of a download. Measured on this stack (simulator -> httpx on
loopback, bytes discarded) the larger read doubled the rate (224-286 -> 485-540 MiB/s) and about halved the
CPU per GiB; the download activity's own CPU per GiB fell by about a sixth. A read allocates its full size only
for the moment of the read and keeps what arrived, so a small JSON answer holds no more memory afterwards.

That read size is httpcore's class attribute `HTTP11Connection.READ_NUM_BYTES`, not a documented setting: it is
set when this module builds its first client (never at import, which must leave the process as it found it),
`tests/connectors/http/test_shared_clients.py` fails the day httpcore reads another way, and the lock (which is what
Azure installs) pins httpcore exactly. The exit hook that closes the clients is registered at the same moment.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Hashable

import httpcore
import httpx


def _read_larger_pieces(http11: type, size: int) -> int | None:
    """Make every HTTP/1.1 connection read up to `size` bytes at a time; the read size, or None if unknown."""
    current = getattr(http11, "READ_NUM_BYTES", None)
    if not isinstance(current, int):  # a later httpcore reads some other way: leave it as it is
        return None
    http11.READ_NUM_BYTES = max(current, size)  # type: ignore[attr-defined]
    return max(current, size)


READ_BYTES = 1024 * 1024
_read_size: list[int | None] = []  # empty until the first client: then the read size (None if httpcore hides it)
_clients: dict[tuple[Hashable, ...], httpx.Client] = {}
_lock = threading.Lock()


def socket_read_bytes() -> int | None:
    """The most one socket read returns (None if this httpcore does not say): no raw piece of a body is larger.

    The first call makes reads larger and registers the exit hook: what configures the process happens on first
    use, not at import."""
    with _lock:
        if not _read_size:
            _read_size.append(_read_larger_pieces(httpcore.HTTP11Connection, READ_BYTES))
            atexit.register(close_all)
        return _read_size[0]


def shared_client(key: tuple[Hashable, ...], build: Callable[[], httpx.Client]) -> httpx.Client:
    """The client for `key` (an origin and the settings it was built with), built by `build` on first use."""
    socket_read_bytes()
    with _lock:
        client = _clients.get(key)
        if client is None or client.is_closed:
            client = build()
            _clients[key] = client
        return client


def close_all() -> None:
    """Close every shared client (their pooled connections with them)."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()
