"""HTTP concerns shared by every connector, written once.

- `Retry-After` in both forms (delta-seconds and HTTP-date).
- Which origin may see the bearer token: only the configured API origin. A
  download URL elsewhere gets no Authorization header and must be https
  unless it is loopback.
- Turning every failed response or network error into an `UpstreamError`
  whose kind tells the orchestrator what to do; 401 refreshes the token once.
- Streaming content without ever holding it whole.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from connectors.base import ErrorKind, JobStatus, UpstreamError
from connectors.errors import ErrorDetails
from connectors.timestamps import parse_timestamp

if TYPE_CHECKING:
    from connectors.credentials import TokenProvider

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 24 * 3600.0
MAX_REDIRECTS = 5
DEFAULT_CHUNK = 1024 * 1024
ErrorParser = Callable[[bytes, str], ErrorDetails]
P = TypeVar("P")


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from `now`; None when absent or unreadable. Past dates give 0."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_S)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max(0.0, (moment - now).total_seconds()), MAX_RETRY_AFTER_S)


def origin_of(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """A configured API base URL: absolute http(s), http only on loopback; no trailing slash."""
    scheme, host, _ = origin_of(url)
    if scheme not in ("http", "https") or not host:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {url!r}")
    if scheme == "http" and not is_loopback(host):
        raise ValueError(f"base_url must use https (http is allowed only for loopback), got {url!r}")
    return url.rstrip("/")


def token_allowed(url: str, api_base: str) -> bool:
    """Whether `url` may receive the bearer token; refuses plain http off loopback outright."""
    scheme, host, _ = origin_of(url)
    if scheme not in ("http", "https") or not host:
        raise UpstreamError(ErrorKind.PERMANENT, "download location is not an absolute http(s) URL")
    if scheme == "http" and not is_loopback(host):
        raise UpstreamError(ErrorKind.PERMANENT, f"download location on {host} is plain http; only https is accepted")
    return origin_of(url) == origin_of(api_base)


class ApiClient:
    """One upstream API origin: authenticated requests, classified failures, streamed downloads."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        parse_error: ErrorParser,
        *,
        client: httpx.Client | None = None,
        timeout_s: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.tokens = tokens
        self.parse_error = parse_error
        self.clock = clock
        self.http = client or httpx.Client(timeout=httpx.Timeout(timeout_s, connect=15.0), follow_redirects=False)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        url: str,
        *,
        on_error: Callable[[httpx.Response], UpstreamError] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with the bearer token (same origin only); a non-2xx answer raises `UpstreamError`."""
        response = self._send(method, url, force_refresh=False, **kwargs)
        if response.status_code == 401 and token_allowed(url, self.base_url):
            response = self._send(method, url, force_refresh=True, **kwargs)
        if response.is_success:
            return response
        raise (on_error or self.classify)(response)

    def _send(self, method: str, url: str, *, force_refresh: bool, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token_allowed(url, self.base_url):
            headers["Authorization"] = f"Bearer {self.tokens.get_token(force_refresh=force_refresh)}"
        try:
            return self.http.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise network_error(url, exc) from None

    def classify(self, response: httpx.Response) -> UpstreamError:
        status = response.status_code
        details = self.parse_error(response.content, f"HTTP {status} {response.reason_phrase}".strip())
        retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock())
        if status == 401:
            return UpstreamError(
                ErrorKind.AUTH,
                f"{details.message} (the credential was refreshed once and still refused: check that it is valid, "
                "not revoked, and has the permissions the connector needs)",
                status_code=status, code=details.code,
            )  # fmt: skip
        kind = (
            ErrorKind.TRANSIENT if status in (408, 425, 429) or status >= 500
            else ErrorKind.CONFLICT if status == 409
            else ErrorKind.EXPIRED if status == 410
            else ErrorKind.PERMANENT
        )  # fmt: skip
        return UpstreamError(
            kind, details.message, status_code=status, code=details.code, retry_after_s=retry_after,
            existing_job_id=details.target,
        )  # fmt: skip

    @contextmanager
    def stream(
        self, url: str, on_error: Callable[[httpx.Response], UpstreamError] | None = None
    ) -> Iterator[HttpContentStream]:
        """Open a download, following redirects by hand so the token never leaves the API origin."""
        for _ in range(MAX_REDIRECTS + 1):
            headers = {}
            if token_allowed(url, self.base_url):
                headers["Authorization"] = f"Bearer {self.tokens.get_token()}"
            try:
                request = self.http.build_request("GET", url, headers=headers)
                response = self.http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise network_error(url, exc) from None
            try:
                if response.is_redirect and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    continue
                if not response.is_success:
                    response.read()
                    raise (on_error or self.classify)(response)
                yield HttpContentStream(response, url)
                return
            finally:
                response.close()
        raise UpstreamError(ErrorKind.PERMANENT, f"more than {MAX_REDIRECTS} redirects while downloading")


class ResultDownloads:
    """Opening a finished job's result, the same way for every connector: expiry first, then the download."""

    def __init__(self, api: ApiClient, gone_statuses: frozenset[int]) -> None:
        self.api = api
        self.gone_statuses = gone_statuses

    @contextmanager
    def open(self, job: JobStatus, url: str) -> Iterator[HttpContentStream]:
        expires = parse_timestamp(job.expires_at)
        if expires is not None and expires <= self.api.clock():
            raise UpstreamError(ErrorKind.EXPIRED, f"the result of job {job.job_id} expired at {job.expires_at}")
        with self.api.stream(url, on_error=self._error) as stream:
            yield stream

    def _error(self, response: httpx.Response) -> UpstreamError:
        error = self.api.classify(response)
        if response.status_code in self.gone_statuses:
            return UpstreamError(
                ErrorKind.EXPIRED, f"result no longer available: {error.message}", status_code=response.status_code
            )
        return error


class HttpContentStream:
    """A download in progress: iterate it chunk by chunk; a cut connection is a transient error."""

    def __init__(self, response: httpx.Response, url: str) -> None:
        self._response = response
        self._url = url
        self.content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        length = response.headers.get("Content-Length")
        encoded = response.headers.get("Content-Encoding") not in (None, "identity")
        known = length is not None and length.isascii() and length.isdigit() and not encoded
        self.content_length = int(length) if known and length else None

    def iter_bytes(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        try:
            yield from self._response.iter_bytes(chunk_size)
        except httpx.TransportError as exc:
            raise network_error(self._url, exc) from None


def network_error(url: str, exc: httpx.TransportError) -> UpstreamError:
    _, host, port = origin_of(url)
    return UpstreamError(ErrorKind.TRANSIENT, f"network error talking to {host}:{port}: {type(exc).__name__}")


class HttpExportConnector(Generic[P]):
    """What every HTTP export connector shares: its API client, its result downloads, its parameters.

    A connector names its error parser and the statuses that mean "the result is gone"; it writes only what
    differs: the paths, the request body, and how a job reads.
    """

    name: str
    parse_error: ErrorParser
    gone_statuses: frozenset[int]
    content_suffix: str

    def __init__(
        self,
        base_url: str,
        params: P,
        tokens: TokenProvider,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.params = params
        self.clock = clock
        self.api = ApiClient(base_url, tokens, type(self).parse_error, client=client, clock=clock)
        self.results = ResultDownloads(self.api, self.gone_statuses)

    def job_url(self, job_id: str) -> str:
        raise NotImplementedError

    @contextmanager
    def open_content(self, job: JobStatus) -> Iterator[HttpContentStream]:
        with self.results.open(job, job.download_url or self.job_url(job.job_id) + self.content_suffix) as stream:
            yield stream
