"""One bounded request over the process's shared client, and what a failed transport or status means.

Why: nothing an upstream sends is trusted for size or time. Every body is read streamed and capped on its
decoded size (`bodies`), every call runs under a total deadline (`deadline`), one client per origin and
settings is shared by the whole process (`clients`). Every failure becomes an `UpstreamError` whose kind tells
the orchestrator what to do (wait, adopt, re-create, stop), named by host and exception type only, never by
the request or its headers. The API client and the OAuth token client both send through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.http.bodies import ACCEPT_ENCODING, read_capped, read_prefix
from connectors.http.clients import shared_client
from connectors.http.connect_guard import guard_connections
from connectors.http.deadline import deadline_passed, enforce_deadlines
from connectors.http.envelopes import MAX_BODY
from connectors.http.retry_after import parse_retry_after
from connectors.http.urls import origin_of
from kernel.errors import ErrorKind, UpstreamError
from telemetry.spans import upstream_call


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
        """A new client with these settings, whose every socket operation honours the thread's deadline and
        whose connections to server-given locations are checked on their resolved addresses (`connect_guard`)."""
        client = httpx.Client(
            timeout=httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s),
            proxy=self.proxy,
            trust_env=self.trust_env,
            follow_redirects=False,  # redirects are followed by hand, so the token never follows them elsewhere
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        )
        return guard_connections(enforce_deadlines(client))

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
    if isinstance(exc, httpx.RemoteProtocolError) and str(exc).startswith("Invalid URL in location header"):
        # httpx reads a redirect's Location even when it does not follow it: no retry can make it parse
        return UpstreamError(ErrorKind.PERMANENT, f"{where} answered a redirect whose Location cannot be parsed")
    if isinstance(exc, httpx.TimeoutException) and deadline_passed():
        return UpstreamError(ErrorKind.TRANSIENT, f"{where} did not answer {slow}")
    return UpstreamError(ErrorKind.TRANSIENT, f"network error talking to {where}: {type(exc).__name__}")


def unsendable(url: str) -> UpstreamError:
    """A URL the HTTP client cannot build a request to, or a redirect Location it cannot read: PERMANENT, as no
    retry can make it parse."""
    try:
        where = origin_of(url).host
    except ValueError:
        where = "the upstream"
    return UpstreamError(ErrorKind.PERMANENT, f"a URL on {where} (or the Location it answered) cannot be parsed")


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


def server_wait(response: httpx.Response) -> float | None:
    """The wait a response asks for (`Retry-After`, either form) in seconds from now, or None."""
    return parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))


def fetch(http: httpx.Client, settings: HttpSettings, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request whose answer is read whole but bounded: a 2xx up to `max_json_bytes` decoded (more is
    refused), anything else up to `max_error_bytes` (the rest is dropped). Runs under the caller's deadline."""
    try:
        with upstream_call(method, url) as call:  # a span: route template and status, never the URL or headers
            response = http.send(http.build_request(method, url, **kwargs), stream=True)
            call.answered(response.status_code, server_wait(response))
            try:
                if response.is_success:
                    body = read_capped(response, settings.max_json_bytes, origin_of(url).host)
                else:
                    body = read_prefix(response, settings.max_error_bytes)
            finally:
                response.close()
    except (httpx.TransportError, httpx.DecodingError) as exc:
        raise network_error(url, exc) from None
    except (httpx.InvalidURL, UnicodeError):  # idna's errors, raised also for a redirect's Location
        raise unsendable(url) from None
    response._content = body  # what `read_json` and error parsers read as `response.content`
    return response
