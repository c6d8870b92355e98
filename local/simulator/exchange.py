"""One HTTP request and its answer, with the few ways the simulator answers (JSON, stream, cut stream)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class Exchange:
    def __init__(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        self.handler = handler
        self.method = method
        split = urlsplit(handler.path)
        self.raw_path = split.path
        self.segments = [unquote(part) for part in split.path.split("/") if part]
        self.query = {key: values[-1] for key, values in parse_qs(split.query, keep_blank_values=True).items()}
        self.route = "unknown"
        self.status = 0
        self.on_start: Callable[[Exchange], None] | None = None
        self.echo_credentials = False
        # Read the body now: an answer sent before reading it would leave it in the keep-alive stream.
        length = int(handler.headers.get("Content-Length") or 0)
        self._body = handler.rfile.read(length) if length else b""

    @property
    def host(self) -> str:
        return (self.handler.headers.get("Host") or "").rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        address: tuple[str, int] = self.handler.server.server_address  # type: ignore[assignment]
        return address[1]

    @property
    def origin(self) -> str:
        return f"http://{self.host or '127.0.0.1'}:{self.port}"

    def header(self, name: str) -> str | None:
        return self.handler.headers.get(name)

    def bearer(self) -> str | None:
        value = self.header("Authorization") or ""
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def echoed(self, text: str) -> str:
        """`text`, followed by the credentials this request carried when the simulator is told to echo them."""
        if not self.echo_credentials:
            return text
        form = self._body.decode(errors="replace") if b"client_secret" in self._body else ""
        return f"{text} (request carried Authorization: {self.header('Authorization') or '-'}; form: {form or '-'})"

    def body(self) -> bytes:
        return self._body

    def json_body(self) -> Any:
        return json.loads(self.body() or b"null")

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self._start(status, {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})})
        self.handler.wfile.write(data)

    def send_bytes(self, status: int, content_type: str, data: bytes, headers: dict[str, str] | None = None) -> None:
        self._start(status, {"Content-Type": content_type, "Content-Length": str(len(data)), **(headers or {})})
        self.handler.wfile.write(data)

    def send_empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        self._start(status, {"Content-Length": "0", **(headers or {})})

    def send_stream(
        self,
        status: int,
        content_type: str,
        chunks: Iterable[bytes],
        *,
        length: int | None,
        drop_after: int | None = None,
        bytes_per_s: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        headers = {"Content-Type": content_type, **(headers or {})}
        headers.update({"Content-Length": str(length)} if length is not None else {"Transfer-Encoding": "chunked"})
        self._start(status, headers)
        sent = 0
        for chunk in chunks:
            if drop_after is not None and sent + len(chunk) >= drop_after:
                self._write(chunk[: max(0, drop_after - sent)], chunked=length is None)
                self._cut()
                return
            self._write(chunk, chunked=length is None)
            sent += len(chunk)
            if bytes_per_s:
                time.sleep(len(chunk) / bytes_per_s)
        if length is None:
            self.handler.wfile.write(b"0\r\n\r\n")

    def send_file(
        self,
        status: int,
        content_type: str,
        path: Path,
        *,
        headers: dict[str, str] | None = None,
        chunked: bool = False,
    ) -> None:
        """A body read from `path` by the kernel (sendfile): no copy through this process. `chunked` sends it as
        one chunk of a chunked body, for an API that sends its results chunked."""
        # The last chunk's few bytes follow the file at once: without this, Nagle holds them for the ACK of the
        # file's end, which the client delays (about 40 ms a page).
        self.handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with path.open("rb") as source:
            length = os.fstat(source.fileno()).st_size
            framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(length)}
            self._start(status, {"Content-Type": content_type, **framing, **(headers or {})})
            if chunked and length:
                self.handler.wfile.write(f"{length:x}\r\n".encode())
            self.handler.wfile.flush()
            if length:
                self.handler.connection.sendfile(source)
            if chunked:
                self.handler.wfile.write((b"\r\n" if length else b"") + b"0\r\n\r\n")

    def _write(self, data: bytes, *, chunked: bool) -> None:
        if not data:
            return
        if chunked:
            self.handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        else:
            self.handler.wfile.write(data)

    def _cut(self) -> None:
        """Close the connection in the middle of the body, as a dropped network would."""
        self.handler.wfile.flush()
        self.handler.close_connection = True
        with contextlib.suppress(OSError):
            self.handler.connection.shutdown(socket.SHUT_RDWR)

    def _start(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        if self.on_start is not None:  # recorded before the client can see the answer: no race in tests
            self.on_start(self)
        self.handler.send_response(status)
        for name, value in headers.items():
            self.handler.send_header(name, value)
        self.handler.end_headers()
