"""A deliberately hostile upstream on 127.0.0.1: the standard library, raw bytes, one scenario per attack.

Why not the simulator: the simulator is a faithful upstream; an attacker is not. Here a test hands the server a
`Scenario` (a function of the request that writes whatever bytes it likes: bombs, trickles, bodies cut short,
echoed credentials, absurd ids) and the server counts the connections it accepted, so connection reuse can
be checked too. Requests on one connection are served in turn (keep-alive) until a scenario closes it.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import json
import socket
import socketserver
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.support.loopback_server import ThreadingTCPServer, loopback_server

GRAPH = "/beta/employeeExperience/goals/exportJobs"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def bearer(self) -> str:
        return self.headers.get("authorization", "").partition(" ")[2]


class Reply:
    """The raw answer to one request: a status line, headers and whatever body bytes a scenario writes."""

    def __init__(self, out: io.BufferedIOBase, sock: socket.socket) -> None:
        self._out = out
        self._sock = sock
        self.closed = False

    def head(self, status: int, headers: dict[str, str]) -> None:
        lines = [f"HTTP/1.1 {status} X", *(f"{name}: {value}" for name, value in headers.items())]
        self.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def write(self, data: bytes) -> None:
        self._out.write(data)
        self._out.flush()

    def json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.head(status, {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})})
        self.write(data)

    def trickle(self, data: bytes, every_s: float) -> None:
        """`data` one byte at a time, `every_s` apart."""
        for i in range(len(data)):
            self.write(data[i : i + 1])
            time.sleep(every_s)

    def close(self) -> None:
        """End the connection now (mid-body if the body is not complete)."""
        self.closed = True
        with contextlib.suppress(OSError):
            self._out.flush()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)


Scenario = Callable[[Request, Reply], None]


def _read_request(rfile: io.BufferedIOBase) -> Request | None:
    line = rfile.readline(65537)
    if not line.strip():
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (header := rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = rfile.read(int(headers.get("content-length", "0") or 0))
    return Request(method, path, headers, body)


class _Handler(socketserver.StreamRequestHandler):
    upstream: HostileUpstream  # set on the subclass made for each server

    def handle(self) -> None:
        self.upstream.connections += 1
        while True:
            try:
                request = _read_request(self.rfile)
            except (OSError, ValueError):
                return
            if request is None:
                return
            self.upstream.requests.append(request)
            reply = Reply(self.wfile, self.connection)
            try:
                self.upstream.scenario(request, reply)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up reading: what a bounded client does
            if reply.closed:
                return


@dataclass
class HostileUpstream:
    """A running hostile server; set `scenario` to decide its next answers."""

    scenario: Scenario
    connections: int = 0
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def graph_base_url(self) -> str:
        return f"{self.url}/beta"


@contextlib.contextmanager
def hostile_upstream(scenario: Scenario) -> Iterator[HostileUpstream]:
    upstream = HostileUpstream(scenario)
    handler = type("HostileHandler", (_Handler,), {"upstream": upstream})
    with loopback_server(handler, name="hostile-upstream", server_class=ThreadingTCPServer) as served:
        upstream.port = served.port
        yield upstream


# -- building blocks of scenarios -------------------------------------------------------------------


def graph_job(job_id: str = "job-1", status: str = "running", **extra: Any) -> dict[str, Any]:
    return {"id": job_id, "status": status, "createdDateTime": "2026-01-01T00:00:00Z", **extra}


@functools.cache
def gzip_of_zeros(size: int, *, layers: int = 1) -> bytes:
    """A gzip body that inflates to `size` zero bytes (per layer: ~1/1000 of the size on the wire)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block[: min(len(block), size - done)]) for done in range(0, size, len(block))]
    data = b"".join([*parts, packer.flush()])
    for _ in range(layers - 1):
        data = gzip.compress(data, 9)
    return data


def zeros(size: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    block = bytes(chunk)
    for done in range(0, size, chunk):
        yield block[: min(chunk, size - done)]
