"""What every HTTP export connector shares, written once so no connector gets it subtly different.

Why: the two upstreams differ in paths, bodies and how a job reads, not in how a call is sent, how a failure is
classified or how a result is downloaded. A connector declares its own facts as class attributes (its error
envelope parser, the statuses that mean "the result is gone", the hint a refused credential deserves, and where
its OAuth token endpoint is by default); code outside `connectors` (credentials, activities) reads them from the
connector class instead of importing one upstream's helpers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

import httpx

from connectors.api_client import ApiClient, Clock, TokenProvider, utcnow
from connectors.base import (
    CleanupOutcome,
    CleanupWhen,
    ErrorKind,
    JobStatus,
    ResultLayout,
    ResultPart,
    UpstreamError,
)
from connectors.content_stream import HttpContentStream
from connectors.envelopes import ErrorParser
from connectors.timestamps import parse_timestamp
from connectors.transport import HttpSettings
from connectors.urls import origin_of

P = TypeVar("P")


@dataclass(frozen=True)
class TokenEndpoint:
    """Where a connector's API exchanges OAuth client credentials for a token by default, and how that
    endpoint's errors read. `path` is on the API's origin; None when the API has no default endpoint (then a
    target using client credentials must name its `token_url`). `scope` is the OAuth scope the token is asked
    for (Entra ID: `<resource>/.default`, one resource per token), None to send none."""

    path: str | None
    parse_error: ErrorParser
    scope: str | None = None

    def url_for(self, base_url: str) -> str | None:
        return None if self.path is None else origin_of(base_url).url() + self.path


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


class HttpExportConnector(Generic[P]):
    """What every HTTP export connector shares: its API client, its result downloads, its parameters.

    A connector names its error parser, the statuses that mean "the result is gone", the hint a refused
    credential deserves and its default token endpoint; it writes only what differs: the paths, the request
    body, how a job reads.
    """

    name: str
    parse_error: ErrorParser
    gone_statuses: frozenset[int]
    content_suffix: str
    auth_hint: str
    token_endpoint: ClassVar[TokenEndpoint]
    min_interval_s: float = 0.0

    def __init__(
        self,
        base_url: str,
        params: P,
        tokens: TokenProvider,
        *,
        client: httpx.Client | None = None,
        clock: Clock = utcnow,
        settings: HttpSettings | None = None,
        max_export_bytes: int | None = None,
    ) -> None:
        self.params = params
        self.clock = clock
        parser = type(self).parse_error
        self.api = ApiClient(
            base_url, tokens, parser, client=client, settings=settings, clock=clock, auth_hint=self.auth_hint
        )
        self.results = ResultDownloads(self.api, self.gone_statuses, max_export_bytes)

    def job_url(self, job_id: str) -> str:
        raise NotImplementedError

    def find_own_jobs(self, not_before: datetime) -> list[JobStatus]:
        """Nothing, unless the connector's API can list jobs (then it overrides this)."""
        return []

    @contextmanager
    def open_content(self, job: JobStatus) -> Iterator[HttpContentStream]:
        url = job.download_url or self.job_url(job.job_id) + self.content_suffix
        with self.results.open(job, url) as stream:
            yield stream

    def get_job(self, job_id: str) -> JobStatus:
        raise NotImplementedError

    def check_job(self, job: JobStatus) -> JobStatus:
        return self.get_job(job.job_id)

    def result_parts(self, job: JobStatus) -> list[ResultPart]:
        return [ResultPart(job.download_url or self.job_url(job.job_id) + self.content_suffix)]

    def open_part(self, job: JobStatus, part: ResultPart) -> AbstractContextManager[HttpContentStream]:
        return self.results.open(job, part.url)

    def iter_result(self, job: JobStatus) -> Iterator[tuple[ResultPart, HttpContentStream]]:
        part = self.result_parts(job)[0]
        with self.open_part(job, part) as stream:
            yield part, stream

    def result_layout(self, job: JobStatus) -> ResultLayout:
        """One file, read by its content type."""
        return ResultLayout()

    def cleanup(self, job: JobStatus, when: CleanupWhen) -> CleanupOutcome:
        """Nothing: the class connectors' APIs have no cleanup call."""
        return CleanupOutcome()
