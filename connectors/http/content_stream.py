"""A download in progress, read chunk by chunk: a cut, stalled, unframed or oversized body is never a success.

Why: results can be gigabytes, so content is streamed, never held. A connection cut mid-body is a transient
error, never a truncated success; a body delimited by closing the connection cannot be told from one cut short,
so a body without framing (Content-Length or chunked) is refused outright; and a download has no total deadline
but a minimum throughput, measured over the time spent waiting for it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx

from connectors.http.bodies import content_coding, decoded_chunks
from connectors.http.deadline import deadline_at
from connectors.http.media_types import checked_media_type
from connectors.http.transport import HttpSettings, network_error, sent_token
from kernel.errors import ErrorKind, UpstreamError

DEFAULT_CHUNK = 1024 * 1024


class HttpContentStream:
    """A download in progress: iterate it chunk by chunk; a cut, stalled or unframed body is never a success.

    The body must be framed (Content-Length or chunked): a body delimited by closing the connection cannot be
    told from one cut short. It must arrive at `min_bytes_per_s`, measured over the time spent waiting for it.
    """

    def __init__(
        self, response: httpx.Response, url: str, settings: HttpSettings, max_bytes: int | None = None
    ) -> None:
        self._response = response
        self._url = url
        self._settings = settings
        self._max_bytes = max_bytes
        self.headers = response.headers  # what a paged result's next cursor is read from
        media_type = checked_media_type(response.headers.get("Content-Type"), sent_token(response))
        self.content_type, self.refused_content_type = media_type
        self.content_length = _content_length(response)
        self._check_framing()
        content_coding(response)
        if max_bytes is not None and self.content_length is not None and self.content_length > max_bytes:
            raise self._too_large()

    def _too_large(self) -> UpstreamError:
        return UpstreamError(
            ErrorKind.PERMANENT, f"the export is larger than the target's max_export_bytes ({self._max_bytes})"
        )

    def _check_framing(self) -> None:
        chunked = "chunked" in self._response.headers.get("Transfer-Encoding", "").lower()
        if not chunked and "Content-Length" not in self._response.headers:
            raise UpstreamError(
                ErrorKind.PERMANENT,
                "the download has neither a Content-Length nor chunked framing, so a cut transfer could not be "
                "told from a complete one; refused",
            )

    def iter_bytes(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        window = self._settings.throughput_window_s
        quota = self._settings.min_bytes_per_s * window
        slow = f"at {self._settings.min_bytes_per_s:.0f} bytes/s or faster (the download's minimum throughput)"
        chunks = decoded_chunks(self._response, chunk_size)
        waited, got, total = 0.0, 0, 0
        while True:
            started = time.monotonic()
            with deadline_at(started + window - waited):
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                except (httpx.TransportError, httpx.DecodingError) as exc:
                    raise network_error(self._url, exc, slow) from None
            waited, got, total = waited + time.monotonic() - started, got + len(chunk), total + len(chunk)
            if self._max_bytes is not None and total > self._max_bytes:
                raise self._too_large()
            if got >= quota:
                waited, got = 0.0, 0
            yield chunk


def _content_length(response: httpx.Response) -> int | None:
    """Content-Length when it describes the bytes we will yield (not when a Content-Encoding is decoded)."""
    length = response.headers.get("Content-Length", "").strip()
    encoded = response.headers.get("Content-Encoding", "identity").strip().lower() != "identity"
    return int(length) if length.isascii() and length.isdigit() and not encoded else None
