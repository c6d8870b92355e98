"""One `httpx.Client` per process, origin and transport settings, shared by every activity call.

Why: an activity call used to build a client of its own, so every poll opened a new connection (a new TLS
handshake on https) and left it for the garbage collector. A shared client keeps its connections alive
between polls of the same worker. httpx clients are safe to use from several threads at once; the table is
guarded by a lock, and every client is closed when the interpreter exits.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Hashable

import httpx

_clients: dict[tuple[Hashable, ...], httpx.Client] = {}
_lock = threading.Lock()


def shared_client(key: tuple[Hashable, ...], build: Callable[[], httpx.Client]) -> httpx.Client:
    """The client for `key` (an origin and the settings it was built with), built by `build` on first use."""
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


atexit.register(close_all)
