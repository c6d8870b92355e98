"""A stand-in server on 127.0.0.1 for tests: the standard library's server on a thread, stopped at once after.

Tests whose upstream the simulator does not play (a token endpoint, Event Grid, a collector of leaked requests,
a hostile server, a proxy) serve their own handler class here rather than each starting and stopping a server
its own way. Stopping uses the simulator's `stop_serving`, which does not wait out the serving loop's poll.
"""

from __future__ import annotations

import socketserver
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

from local.simulator.server import serve_in_background, stop_serving


class ThreadingTCPServer(socketserver.ThreadingTCPServer):
    """Raw TCP for handlers that write bytes no HTTP library would: one daemon thread per connection."""

    daemon_threads = True
    allow_reuse_address = True


@dataclass(frozen=True)
class Loopback:
    server: socketserver.TCPServer

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def loopback_server(
    handler: type[socketserver.BaseRequestHandler],
    *,
    name: str = "loopback-server",
    server_class: type[socketserver.TCPServer] = ThreadingHTTPServer,
) -> Iterator[Loopback]:
    """Serve `handler` on a free port of 127.0.0.1 until the block ends; connections get daemon threads."""
    server = server_class(("127.0.0.1", 0), handler)
    thread = serve_in_background(server, name)
    try:
        yield Loopback(server)
    finally:
        stop_serving(server, thread)
