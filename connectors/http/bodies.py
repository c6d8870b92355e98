"""Reading upstream bodies without trusting their size, their encoding or their framing.

Why this is not httpx's own decoding: httpx inflates each wire chunk whole, so 64 KiB of gzip becomes up
to 64 MiB in one piece, and `Content-Encoding: gzip, gzip` squares that (3,477 bytes on the wire reached
6.2 GiB). Here the wire bytes are read as they come and inflated at most one chunk at a time, so memory is
bounded by the chunk size whatever the ratio; only one coding (gzip or deflate) is accepted, never a stack.

Limits are on the DECODED size: a JSON answer over its limit is refused, an error body is cut at its limit
(the status alone classifies it). A compressed body that ends before its compressed stream does is cut,
even when its Content-Length matched: that is a transient failure, never a short success.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

from connectors.http.clients import socket_read_bytes
from kernel.errors import ErrorKind, UpstreamError

CODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
ACCEPT_ENCODING = "gzip, deflate"


def content_coding(response: httpx.Response) -> str | None:
    """The one content coding of `response` (None for identity); stacked or unknown codings are refused."""
    codings = [c.strip().lower() for c in response.headers.get("Content-Encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 1:
        raise UpstreamError(
            ErrorKind.PERMANENT, f"the upstream stacked content encodings ({', '.join(codings)[:100]}); refused"
        )
    if codings and codings[0] not in CODINGS:
        unsupported = codings[0][:40]
        raise UpstreamError(ErrorKind.PERMANENT, f"the upstream used an unsupported content encoding {unsupported!r}")
    return codings[0] if codings else None


class _Inflater:
    """Bounded incremental inflation of one coding; several gzip members in a row are one body."""

    def __init__(self, coding: str) -> None:
        self._wbits = CODINGS[coding]
        self._inflate = zlib.decompressobj(self._wbits)

    def feed(self, data: bytes, piece: int) -> Iterator[bytes]:
        while data:
            try:
                out = self._inflate.decompress(data, piece)
            except zlib.error:
                raise UpstreamError(ErrorKind.TRANSIENT, "the upstream sent a corrupt compressed body") from None
            data = self._inflate.unconsumed_tail
            if self._inflate.eof and self._inflate.unused_data:
                data, self._inflate = self._inflate.unused_data, zlib.decompressobj(self._wbits)
            if out:
                yield out

    def finish(self) -> None:
        if not self._inflate.eof:
            raise UpstreamError(
                ErrorKind.TRANSIENT, "the upstream body ended before its compressed stream did (a cut transfer)"
            )


def decoded_chunks(response: httpx.Response, chunk_size: int) -> Iterator[bytes]:
    """The decoded body of a streamed `response`, in pieces of at most `chunk_size` bytes.

    Pieces as large as a socket read are passed on as they arrived: httpx would otherwise copy every byte
    twice more to re-cut them into pieces of the same size.
    """
    coding = content_coding(response)
    read_bytes = socket_read_bytes()
    as_read = read_bytes is not None and chunk_size >= read_bytes
    raw_pieces = response.iter_raw(None if as_read else chunk_size)
    if coding is None:
        yield from raw_pieces
        return
    inflater = _Inflater(coding)
    for raw in raw_pieces:
        yield from inflater.feed(raw, chunk_size)
    inflater.finish()


def read_capped(response: httpx.Response, limit: int, what: str) -> bytes:
    """The whole decoded body, refused (PERMANENT) as soon as it passes `limit` bytes."""
    body = bytearray()
    for chunk in decoded_chunks(response, min(limit + 1, 64 * 1024)):
        body += chunk
        if len(body) > limit:
            raise UpstreamError(ErrorKind.PERMANENT, f"{what} answered a body over {limit} bytes; refused")
    return bytes(body)


def read_prefix(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` decoded bytes of an error body; a body that cannot be read is simply shorter."""
    body = bytearray()
    try:
        for chunk in decoded_chunks(response, min(limit, 64 * 1024)):
            body += chunk
            if len(body) >= limit:
                break
    except (httpx.TransportError, UpstreamError):
        pass  # the status alone classifies it
    return bytes(body[:limit])
