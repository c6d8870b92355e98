"""A loopback TCP proxy in front of one Azurite port: counts connections and records request lines.

It sees exactly what the real clients send, with no hook inside them, so a test
can check which requests an activity makes (no create calls) and whether a
second call reuses the first call's connections (one client per process).
"""

from __future__ import annotations

import contextlib
import re
import socket
import socketserver
import threading

from tests.support.loopback_server import ThreadingTCPServer, loopback_server

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class _RequestLines:
    """Splits one connection's client bytes into requests (head, then Content-Length bytes of body)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._body_left = 0

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        lines: list[str] = []
        while True:
            if self._body_left:
                taken = min(self._body_left, len(self._buffer))
                del self._buffer[:taken]
                self._body_left -= taken
                if self._body_left:
                    return lines
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return lines
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            method, target = head.split(b"\r\n", 1)[0].split(b" ")[:2]
            lines.append(f"{method.decode()} {target.decode()}")
            length = CONTENT_LENGTH.search(head)
            self._body_left = int(length.group(1)) if length else 0


class CountingProxy:
    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self.connections = 0
        self.requests: list[str] = []  # "PUT /devstoreaccount1/name?restype=container", in the order sent
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._serving = contextlib.ExitStack()
        proxy = self

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._pipe(self.request)

        served = self._serving.enter_context(
            loopback_server(Pipe, name="counting-proxy", server_class=ThreadingTCPServer)
        )
        self.port = served.port

    def _pipe(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self._target)
        with self._lock:
            self.connections += 1
            self._sockets += [client, upstream]
        threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()
        self._pump(client, upstream, True)

    def _pump(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        requests = _RequestLines()
        with contextlib.suppress(OSError):
            while data := source.recv(1 << 16):
                if record:
                    lines = requests.feed(data)
                    with self._lock:
                        self.requests += lines
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._serving.close()  # no new connection after this; then end the ones clients keep alive
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
