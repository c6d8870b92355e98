"""The client of one upstream API origin: authenticated requests, classified failures, redirects by hand.

Why: a bearer token may go only to the configured API origin, so redirects are followed here, one by one, and
a location elsewhere gets no Authorization header and is server-given: refused when its host is loopback (with
the switch off), private, link-local or reserved, checked on the name here and on the resolved address when
the connection opens (`connect_guard`); a 401 refreshes the token once, then is the credential's
fault and says what to check. Failures carry the server's own words (its envelope read by the parser the
connector names), with the sent token blanked, and its `Retry-After`.

Where the token comes from is not this module's business: it takes any `TokenProvider` it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import httpx

from connectors.credential_interface import ErrorParser, TokenProvider
from connectors.http.bodies import read_prefix
from connectors.http.connect_guard import server_given
from connectors.http.content_stream import HttpContentStream
from connectors.http.deadline import within
from connectors.http.retry_after import parse_retry_after
from connectors.http.transport import (
    HttpSettings,
    classify_status,
    fetch,
    network_error,
    sent_token,
    server_wait,
    unsendable,
)
from connectors.http.upstream_ids import upstream_id
from connectors.http.urls import check_base_url, check_download_url, check_server_given, same_origin
from kernel.errors import ErrorKind, UpstreamError
from kernel.redaction import MAX_MESSAGE, clean_message
from telemetry.spans import upstream_call

MAX_REDIRECTS = 5
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


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
            check_server_given(url)
            return {}
        return {"Authorization": f"Bearer {self.tokens.get_token(force_refresh=force_refresh)}"}

    def _reaching(self, url: str) -> ExitStack:
        """Where a request to `url` may connect: anywhere on the API origin, checked addresses elsewhere."""
        stack = ExitStack()
        if not same_origin(url, self.base_url):
            stack.enter_context(server_given())
        return stack

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
        with self._reaching(url):
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
            existing_job_id=upstream_id(details.target, secret=sent) if conflict else None,
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
            try:
                url = urljoin(url, location.strip().strip('"'))
            except ValueError:  # e.g. an unclosed IPv6 bracket: no retry can follow it
                raise UpstreamError(ErrorKind.PERMANENT, "a redirect location cannot be parsed as a URL") from None
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
            call = stack.enter_context(upstream_call("GET", url))  # a span for the whole download
            try:
                with self._reaching(url):  # connections open while the request is sent, not while the body is read
                    response = stack.enter_context(self.http(url).stream("GET", url, headers=headers))
            except (httpx.TransportError, httpx.DecodingError) as exc:
                raise network_error(url, exc) from None
            except (httpx.InvalidURL, UnicodeError):  # idna's errors, raised also for a redirect's Location
                raise unsendable(url) from None
            call.answered(response.status_code, server_wait(response))
            yield response
