"""A finished job's result as a sequence of parts: files, pages behind a cursor, and members of a zip.

Why a sequence: several living APIs give more than one file (Cost Management's blob list), pages (Salesforce's
`Sforce-Locator`, Graph's `@odata.nextLink`) or a zip (Intune). Each part is opened only when the one before it
has been read, so memory stays flat whatever their number: `iter_parts` is a generator whose every stream is
open only until the consumer asks for the next. A zip is unpacked while streaming (`stream-unzip`: no temporary
file, no seeking); its members count against the export's size limit, so a zip bomb is refused like any
oversized export. Cursors and links are hostile input: bounded, and followed only under the engine's URL rules.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

import httpx
from stream_unzip import NO_ENCRYPTION, UnzipError, stream_unzip

from connectors.base import JobStatus, ResultPart
from connectors.http.api_client import ApiClient
from connectors.http.content_stream import DEFAULT_CHUNK, HttpContentStream
from connectors.http.media_types import FALLBACK
from connectors.http.transport import read_json
from connectors.spec.model import ConnectorSpec
from connectors.spec.paths import search
from kernel.errors import ErrorKind, UpstreamError
from kernel.redaction import clean_message
from kernel.timestamps import parse_timestamp

MAX_PAGES = 10_000  # a cursor that never ends is refused rather than followed for ever
MAX_CURSOR = 2000
OCTET_STREAM = FALLBACK  # what an unknown or refused media type is stored as
MediaType = tuple[str, str | None]  # (the type stored, the upstream's refused Content-Type)


class ResultDownloads:
    """Opening a finished job's result the same way for every connector: expiry first, then the download."""

    def __init__(self, api: ApiClient, gone_statuses: frozenset[int], max_bytes: int | None = None) -> None:
        self.api = api
        self.gone_statuses = gone_statuses
        self.max_bytes = max_bytes

    @contextmanager
    def open(self, job: JobStatus, url: str) -> Iterator[HttpContentStream]:
        expires = parse_timestamp(job.expires_at)
        if expires is not None and expires <= self.api.clock():
            raise UpstreamError(
                ErrorKind.EXPIRED, f"result no longer available: job {job.job_id} expired at {job.expires_at}"
            )
        with self.api.stream(url, on_error=self._error, max_bytes=self.max_bytes) as stream:
            yield stream

    def _error(self, response: httpx.Response) -> UpstreamError:
        error = self.api.classify(response)
        if response.status_code not in self.gone_statuses:
            return error
        return UpstreamError(
            ErrorKind.EXPIRED,
            f"result no longer available: {error.message}",
            status_code=response.status_code,
            code=error.code,
        )


class SpecResults(Protocol):
    """What of the spec connector reading a result needs."""

    spec: ConnectorSpec
    upstream: str

    @property
    def api(self) -> ApiClient: ...

    def result_parts(self, job: JobStatus) -> list[ResultPart]: ...

    def open_part(self, job: JobStatus, part: ResultPart) -> AbstractContextManager[HttpContentStream]: ...

    def checked_result_url(self, url: str) -> str: ...


class ChunkStream:
    """A `ContentStream` over chunks that are already decoded (a zip member, a gunzipped file, a read page)."""

    def __init__(
        self,
        chunks: Iterable[bytes],
        content_type: str,
        content_length: int | None = None,
        refused_content_type: str | None = None,
    ) -> None:
        self._chunks = iter(chunks)
        self.content_type = content_type  # already checked (`media_types`) or the spec's own media type
        self.refused_content_type = refused_content_type
        self.content_length = content_length

    def iter_bytes(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        yield from self._chunks


def _capped(chunks: Iterable[bytes], counted: list[int], limit: int | None) -> Iterator[bytes]:
    for chunk in chunks:
        counted[0] += len(chunk)
        if limit is not None and counted[0] > limit:
            raise UpstreamError(
                ErrorKind.PERMANENT, f"the unpacked export is larger than the target's max_export_bytes ({limit})"
            )
        yield chunk


def _gunzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for chunk in chunks:
        data = chunk
        while data:
            try:
                out = inflate.decompress(data, DEFAULT_CHUNK)
            except zlib.error:
                raise UpstreamError(ErrorKind.PERMANENT, "the result is not readable gzip") from None
            data = inflate.unconsumed_tail
            if out:
                yield out
    if not inflate.eof:
        raise UpstreamError(ErrorKind.TRANSIENT, "the gzip result ended before its stream did (a cut transfer)")


def _member_name(raw: bytes) -> str:
    return clean_message(raw.decode("utf-8", "replace"), limit=200)


class ResultReader:
    """The parts of one finished job, in order, each decoded as the spec says."""

    def __init__(self, conn: SpecResults, max_bytes: int | None) -> None:
        self.conn = conn
        self.spec = conn.spec.result
        self.max_bytes = max_bytes
        self._unpacked = [0]

    def iter_parts(self, job: JobStatus) -> Iterator[tuple[ResultPart, ChunkStream]]:
        kind = self.spec.pagination.kind
        if kind == "header_cursor":
            pages = self._header_pages(job)
        elif kind == "body_next_link":
            pages = self._link_pages(job)
        else:
            pages = self._files(job)
        for part, chunks, (content_type, refused), length in pages:
            yield from self._decoded(part, chunks, content_type, refused, length)

    def _content_type(self, received: str, refused: str | None = None) -> tuple[str, str | None]:
        """The media type a part is stored as, and the upstream's refused Content-Type if it sent an unusable one.

        A usable type the upstream sent wins (Power BI's depends on the format asked for); an unusable one is
        stored as application/octet-stream and named (never replaced by a guess); none, or a bare octet-stream,
        takes the spec's media type. Decoded members (gzip, zip) always take the spec's: the container's type
        says nothing of them."""
        if self.spec.encoding != "none":
            return self.spec.media_type or OCTET_STREAM, None
        if refused is not None:
            return OCTET_STREAM, refused
        return (received if received != OCTET_STREAM else self.spec.media_type or received), None

    def _files(self, job: JobStatus) -> Iterator[tuple[ResultPart, Iterable[bytes], MediaType, int | None]]:
        for part in self.conn.result_parts(job):
            with self.conn.open_part(job, part) as stream:
                media = self._content_type(stream.content_type, stream.refused_content_type)
                yield part, stream.iter_bytes(), media, stream.content_length

    def _header_pages(self, job: JobStatus) -> Iterator[tuple[ResultPart, Iterable[bytes], MediaType, int | None]]:
        rule = self.spec.pagination
        assert rule.header is not None
        assert rule.query_param is not None
        first = self.conn.result_parts(job)[0]
        url, cursor = first.url, None
        for _ in range(MAX_PAGES):
            page = str(httpx.URL(url).copy_merge_params({rule.query_param: cursor})) if cursor else url
            with self.conn.open_part(job, ResultPart(page, first.name)) as stream:
                media = self._content_type(stream.content_type, stream.refused_content_type)
                yield ResultPart(page, first.name), stream.iter_bytes(), media, None
                cursor = self._cursor(stream.headers.get(rule.header))
            if cursor is None or cursor == rule.end_value:
                return
        raise UpstreamError(ErrorKind.PERMANENT, f"the result has more than {MAX_PAGES} pages; refused")

    def _link_pages(self, job: JobStatus) -> Iterator[tuple[ResultPart, Iterable[bytes], MediaType, int | None]]:
        rule = self.spec.pagination
        assert rule.next_link is not None
        url: str | None = self.conn.result_parts(job)[0].url
        for _ in range(MAX_PAGES):
            if url is None:
                return
            response = self.conn.api.request("GET", self.conn.checked_result_url(url))
            content = response.content
            link = search(rule.next_link, read_json(response, self.conn.upstream))
            yield ResultPart(url), [content], self._content_type("application/json"), len(content)
            url = link if isinstance(link, str) and link else None
        raise UpstreamError(ErrorKind.PERMANENT, f"the result has more than {MAX_PAGES} pages; refused")

    @staticmethod
    def _cursor(value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        text = value.strip()
        if len(text) > MAX_CURSOR or not text.isprintable():
            raise UpstreamError(ErrorKind.PERMANENT, "the upstream answered an unusable page cursor; refused")
        return text

    def _decoded(
        self, part: ResultPart, chunks: Iterable[bytes], content_type: str, refused: str | None, length: int | None
    ) -> Iterator[tuple[ResultPart, ChunkStream]]:
        encoding = self.spec.encoding
        if encoding == "none":
            yield part, ChunkStream(chunks, content_type, length, refused)
        elif encoding == "gzip":
            yield part, ChunkStream(_capped(_gunzip(chunks), self._unpacked, self.max_bytes), content_type)
        else:
            try:
                for name, _, member in stream_unzip(chunks, allowed_encryption_mechanisms=(NO_ENCRYPTION,)):
                    capped = _capped(member, self._unpacked, self.max_bytes)
                    yield ResultPart(part.url, _member_name(name)), ChunkStream(capped, content_type)
            except UnzipError as exc:
                raise UpstreamError(
                    ErrorKind.PERMANENT, f"the result is not a readable zip ({type(exc).__name__})"
                ) from None
