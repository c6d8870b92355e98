"""HTTP concerns every connector shares, written once so no connector gets them subtly different.

Why each piece is here:

- `Retry-After` comes in two forms (delta-seconds and HTTP-date); clients that
  ignore it get escalating rate-limit penalties, so both forms are read, relative
  to a given `now`, and absurd values are clamped.
- A bearer token may go only to the configured API origin. Download locations
  and redirects come from the server; they get no Authorization header when
  they point elsewhere, and must be https unless they are loopback.
- Every failure becomes an `UpstreamError` whose kind tells the orchestrator
  what to do (wait, adopt, re-create, stop); a 401 refreshes the token once.
  Messages are the server's own words, with anything token-shaped blanked.
- Results can be gigabytes: content is streamed chunk by chunk and a
  connection cut mid-body is a transient error, never a truncated success;
  a body without framing (Content-Length or chunked) is refused outright.
- Nothing an upstream sends is trusted for size or time: every body is read
  streamed and capped on its decoded size (`bodies`), every call runs under a
  total deadline and every download under a minimum throughput (`deadline`),
  and one client per origin is shared by the whole process (`clients`).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar
from urllib.parse import quote, urljoin, urlsplit

import httpx

from connectors.base import ErrorKind, JobStatus, UpstreamError
from connectors.bodies import ACCEPT_ENCODING, content_coding, decoded_chunks, read_capped, read_prefix
from connectors.clients import shared_client
from connectors.deadline import deadline_at, deadline_passed, enforce_deadlines, within
from connectors.errors import MAX_BODY, MAX_MESSAGE, ErrorDetails, clean_message, upstream_id
from connectors.timestamps import parse_timestamp

if TYPE_CHECKING:
    from connectors.credentials import TokenProvider

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 24 * 3600.0  # SailPoint escalates to 1200 s; a day is past anything sane
MAX_REDIRECTS = 5
MAX_URL = 8192  # pre-signed URLs run to a few hundred characters
DEFAULT_CHUNK = 1024 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}
ErrorParser = Callable[..., ErrorDetails]  # (body, fallback, *secrets to redact)
Clock = Callable[[], datetime]
P = TypeVar("P")


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- Retry-After ---------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from `now`; None when absent, negative or unreadable. A past date means 0."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_S)
    moment = _http_date(text)
    if moment is None:
        return None
    reference = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return min(max(0.0, (moment - reference).total_seconds()), MAX_RETRY_AFTER_S)


def _http_date(text: str) -> datetime | None:
    if not text or not text.isascii() or not any(c.isalpha() for c in text):  # dates always name a month
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- origins and URLs ----------------------------------------------------------------------------


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


def origin_of(url: str) -> Origin:
    """(scheme, host, port) of an absolute http(s) URL, default ports filled in; ValueError otherwise."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    return Origin(scheme, host, parts.port or DEFAULT_PORTS[scheme])  # .port raises ValueError when out of range


def same_origin(url: str, other: str) -> bool:
    try:
        return origin_of(url) == origin_of(other)
    except ValueError:
        return False


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 — addresses that never leave this machine."""
    name = host.lower().strip("[]").rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """A configured API base URL: absolute http(s), http only for loopback, no credentials; no trailing slash."""
    try:
        scheme, host, _ = origin_of(url)
    except ValueError:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {url!r}") from None
    parts = urlsplit(url.strip())
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ValueError(f"base_url must not carry credentials, a query or a fragment, got {url!r}")
    if scheme == "http" and not is_loopback(host):
        raise ValueError(f"base_url must use https (http is allowed only for loopback), got {url!r}")
    return url.strip().rstrip("/")


def check_download_url(url: str) -> str:
    """A server-given location we may fetch: absolute http(s), https unless loopback, of sane length and with no
    control character or inner whitespace (no retry can make such a URL work); else PERMANENT."""
    text = url.strip()
    if len(text) > MAX_URL:
        raise UpstreamError(ErrorKind.PERMANENT, f"the download location is longer than {MAX_URL} characters")
    if any(ord(c) < 0x21 or 0x7F <= ord(c) <= 0x9F for c in text):
        raise UpstreamError(ErrorKind.PERMANENT, "the download location holds a control character or whitespace")
    try:
        scheme, host, _ = origin_of(url)
    except ValueError:
        raise UpstreamError(ErrorKind.PERMANENT, "the download location is not an absolute http(s) URL") from None
    if urlsplit(url.strip()).username is not None:
        raise UpstreamError(ErrorKind.PERMANENT, f"the download location on {host} embeds credentials; refused")
    if scheme == "http" and not is_loopback(host):
        raise UpstreamError(
            ErrorKind.PERMANENT,
            f"the download location on {host} is plain http; only https is accepted off this machine",
        )
    return url.strip()


def path_segment(value: str, what: str = "job id") -> str:
    """An opaque upstream id as exactly one path segment: `/`, `?`, `#`, `%` escaped, and `.`/`..` too."""
    if not value:
        raise UpstreamError(ErrorKind.PERMANENT, f"an empty {what} cannot be requested")
    escaped = quote(value, safe="")
    return escaped.replace(".", "%2E") if escaped in (".", "..") else escaped


# -- the HTTP client -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts, limits and proxy of upstream calls; proxies from the environment unless told otherwise.

    `timeout_s` bounds each read, `deadline_s` a whole call (connect, headers and body); a download has no
    total deadline but must deliver `min_bytes_per_s` averaged over each `throughput_window_s` of waiting.
    """

    timeout_s: float = 60.0
    connect_timeout_s: float = 15.0
    deadline_s: float = 120.0
    min_bytes_per_s: float = 16 * 1024
    throughput_window_s: float = 60.0
    max_json_bytes: int = 1024 * 1024
    max_error_bytes: int = MAX_BODY
    proxy: str | None = None
    trust_env: bool = True

    def client(self) -> httpx.Client:
        """A new client with these settings, whose every socket operation honours the thread's deadline."""
        client = httpx.Client(
            timeout=httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s),
            proxy=self.proxy,
            trust_env=self.trust_env,
            follow_redirects=False,  # redirects are followed by hand, so the token never follows them elsewhere
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        )
        return enforce_deadlines(client)

    def client_for(self, url: str) -> httpx.Client:
        """The process's shared client for `url`'s origin with these transport settings."""
        transport = (self.timeout_s, self.connect_timeout_s, self.proxy, self.trust_env)
        return shared_client((origin_of(url), *transport), self.client)


def classify_status(status: int) -> ErrorKind:
    """What a failed HTTP status means for the orchestrator."""
    if status == 401:
        return ErrorKind.AUTH
    if status == 409:
        return ErrorKind.CONFLICT
    if status == 410:
        return ErrorKind.EXPIRED
    if status in (408, 425, 429) or status >= 500:
        return ErrorKind.TRANSIENT
    return ErrorKind.PERMANENT


def network_error(url: str, exc: Exception, slow: str = "within the call's deadline") -> UpstreamError:
    """A transport failure, named by host and exception type only (never the request or its headers).

    Called where the failure is caught, inside the deadline it ran under, so a timeout can say it was that."""
    try:
        where = "{1}:{2}".format(*origin_of(url))
    except ValueError:
        where = "the upstream"
    if isinstance(exc, httpx.TimeoutException) and deadline_passed():
        return UpstreamError(ErrorKind.TRANSIENT, f"{where} did not answer {slow}")
    return UpstreamError(ErrorKind.TRANSIENT, f"network error talking to {where}: {type(exc).__name__}")


def read_json(response: httpx.Response, upstream: str) -> Any:
    """The body of a 2xx answer as JSON; anything else is a transient glitch (a proxy page, a cut body)."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise UpstreamError(
            ErrorKind.TRANSIENT, f"{upstream} answered HTTP {response.status_code} without a JSON body"
        ) from None


def sent_token(response: httpx.Response) -> str | None:
    """The bearer token `response`'s request carried: the one credential that upstream could echo back."""
    try:
        header = response.request.headers.get("Authorization", "")
    except RuntimeError:  # a response built without a request
        return None
    return header.partition(" ")[2] or None


def fetch(http: httpx.Client, settings: HttpSettings, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request whose answer is read whole but bounded: a 2xx up to `max_json_bytes` decoded (more is
    refused), anything else up to `max_error_bytes` (the rest is dropped). Runs under the caller's deadline."""
    try:
        response = http.send(http.build_request(method, url, **kwargs), stream=True)
        try:
            if response.is_success:
                body = read_capped(response, settings.max_json_bytes, origin_of(url).host)
            else:
                body = read_prefix(response, settings.max_error_bytes)
        finally:
            response.close()
    except (httpx.TransportError, httpx.DecodingError) as exc:
        raise network_error(url, exc) from None
    response._content = body  # what `read_json` and error parsers read as `response.content`
    return response


class ApiClient:
    """One upstream API origin: authenticated requests, classified failures, streamed downloads."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        parse_error: ErrorParser,
        *,
        client: httpx.Client | None = None,
        settings: HttpSettings | None = None,
        clock: Clock = utcnow,
        auth_hint: str = "check that the credential is valid, not expired or revoked, and has the permissions needed",
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.tokens = tokens
        self.parse_error = parse_error
        self.clock = clock
        self.auth_hint = auth_hint
        self.settings = settings or HttpSettings()
        self._client = client

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def http(self, url: str) -> httpx.Client:
        return self._client if self._client is not None else self.settings.client_for(url)

    def _authorization(self, url: str, *, force_refresh: bool) -> dict[str, str]:
        """The Authorization header for `url`: only on the API origin; refuses unsafe locations outright."""
        check_download_url(url)
        if not same_origin(url, self.base_url):
            return {}
        return {"Authorization": f"Bearer {self.tokens.get_token(force_refresh=force_refresh)}"}

    def request(
        self,
        method: str,
        url: str,
        *,
        on_error: Callable[[httpx.Response], UpstreamError] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send (token on the API origin only) within the total deadline; a 401 refreshes the token once;
        a non-2xx raises `UpstreamError`. The body is read (bounded, decoded) before this returns."""
        with within(self.settings.deadline_s):
            response = self._send(method, url, force_refresh=False, **kwargs)
            if response.status_code == 401 and "Authorization" in response.request.headers:
                response = self._send(method, url, force_refresh=True, **kwargs)
        if response.is_success:
            return response
        raise (on_error or self.classify)(response)

    def _send(self, method: str, url: str, *, force_refresh: bool, **kwargs: Any) -> httpx.Response:
        headers = {**(kwargs.pop("headers", None) or {}), **self._authorization(url, force_refresh=force_refresh)}
        return fetch(self.http(url), self.settings, method, url, headers=headers, **kwargs)

    def classify(self, response: httpx.Response) -> UpstreamError:
        """The `UpstreamError` a failed response stands for, with the server's own message and wait."""
        status = response.status_code
        fallback = f"HTTP {status} {response.reason_phrase}".strip()
        sent = sent_token(response)
        details = self.parse_error(response.content[: self.settings.max_error_bytes], fallback, sent)
        message = details.message
        kind = classify_status(status)
        if kind is ErrorKind.AUTH:
            message = self._auth_message(message, sent is not None)
        conflict = kind is ErrorKind.CONFLICT and details.target is not None
        return UpstreamError(
            kind,
            message,
            status_code=status,
            code=details.code,
            retry_after_s=self.retry_after(response),
            existing_job_id=upstream_id(details.target) if conflict else None,
        )

    def text(self, response: httpx.Response, value: object, limit: int = MAX_MESSAGE) -> str | None:
        """Free text from `response`'s body (a status detail, a reason): redacted, one line, bounded; or None."""
        if not isinstance(value, str) or not value.strip():
            return None
        return clean_message(value, sent_token(response), limit=limit)

    def retry_after(self, response: httpx.Response) -> float | None:
        """The server's `Retry-After` in seconds from now (either form), or None."""
        return parse_retry_after(response.headers.get("Retry-After"), self.clock())

    def _auth_message(self, message: str, had_token: bool) -> str:
        if not had_token:
            return f"{message} (no credential is sent to this location, as it is not the API's origin)"
        return f"{message} (refused again after fetching a fresh token: {self.auth_hint})"

    @contextmanager
    def stream(
        self,
        url: str,
        on_error: Callable[[httpx.Response], UpstreamError] | None = None,
        *,
        max_bytes: int | None = None,
    ) -> Iterator[HttpContentStream]:
        """Open a download; redirects are followed by hand so the token never leaves the API origin.

        Opening (every redirect, up to the headers of the answer) is one call under the total deadline; the
        body then streams under the minimum throughput instead, and is refused past `max_bytes`.
        """
        with ExitStack() as stack:
            with within(self.settings.deadline_s):
                response, url = self._open(stack, url)
                if not response.is_success:
                    response._content = read_prefix(response, self.settings.max_error_bytes)
                    raise (on_error or self.classify)(response)
            yield HttpContentStream(response, url, self.settings, max_bytes)

    def _open(self, stack: ExitStack, url: str) -> tuple[httpx.Response, str]:
        for _ in range(MAX_REDIRECTS + 1):
            inner = ExitStack()
            response = inner.enter_context(self._stream_refreshing(url))
            location = response.headers.get("Location") if response.is_redirect else None
            if location is None:
                stack.push(inner)
                return response, url
            inner.close()
            url = urljoin(url, location.strip().strip('"'))
        raise UpstreamError(ErrorKind.PERMANENT, f"more than {MAX_REDIRECTS} redirects while downloading")

    @contextmanager
    def _stream_refreshing(self, url: str) -> Iterator[httpx.Response]:
        headers = self._authorization(url, force_refresh=False)
        with self._stream_once(url, headers) as response:
            if response.status_code != 401 or not headers:
                yield response
                return
        with self._stream_once(url, self._authorization(url, force_refresh=True)) as response:
            yield response

    @contextmanager
    def _stream_once(self, url: str, headers: dict[str, str]) -> Iterator[httpx.Response]:
        with ExitStack() as stack:
            try:
                response = stack.enter_context(self.http(url).stream("GET", url, headers=headers))
            except (httpx.TransportError, httpx.DecodingError) as exc:
                raise network_error(url, exc) from None
            yield response


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
        self.content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
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


# -- what every export connector shares ----------------------------------------------------------


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

    A connector names its error parser, the statuses that mean "the result is gone" and the hint a
    refused credential deserves; it writes only what differs: the paths, the request body, how a job reads.
    """

    name: str
    parse_error: ErrorParser
    gone_statuses: frozenset[int]
    content_suffix: str
    auth_hint: str

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
