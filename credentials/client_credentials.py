"""OAuth2 client credentials: a token fetched with a client id and secret, cached until shortly before expiry.

Why cached per process: each poll would otherwise cost a token request, which the token endpoint's own rate
limit punishes. The endpoint and the reader of its error envelope are given by the caller (the connector
declares them), so this client knows no upstream. A token is never returned from an activity, logged, or put in
an exception: errors name the client id, never the secret, and an echoed secret is blanked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from connectors.credential_interface import ErrorParser, HttpSettings, fetch, parse_retry_after, within
from kernel.errors import ErrorKind, UpstreamError

MAX_INSTANCE_URL = 2000


class ClientCredentialsTokenProvider:
    """OAuth2 client credentials, cached until shortly before expiry; thread-safe.

    `parse_error` reads the endpoint's error envelope (the connector that needs the token names it).
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        parse_error: ErrorParser,
        *,
        http: httpx.Client | None = None,
        settings: HttpSettings | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        scope: str | None = None,
    ) -> None:
        self.token_url = token_url
        self.scope = scope
        self.client_id = client_id
        self._secret = client_secret
        self._parse_error = parse_error
        self._settings = settings or HttpSettings()
        self._http = http
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        # What the last token response named as the API's instance (Salesforce's `instance_url`), unchecked: a
        # connector whose spec takes its origin from there checks it before sending the token to it.
        self.instance_url: str | None = None

    def __repr__(self) -> str:
        return f"ClientCredentialsTokenProvider(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def get_token(self, *, force_refresh: bool = False) -> str:
        with self._lock:
            if force_refresh or self._token is None or self._monotonic() >= self._refresh_at:
                self._token, lifetime = self._fetch()
                margin = min(60.0, lifetime * 0.1)
                self._refresh_at = self._monotonic() + max(0.0, lifetime - margin)
            return self._token

    def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self._secret}
        if self.scope:
            form["scope"] = self.scope
        http = self._http or self._settings.client_for(self.token_url)
        with within(self._settings.deadline_s):
            response = fetch(http, self._settings, "POST", self.token_url, data=form)
        if response.status_code == 429 or response.status_code >= 500:
            # The endpoint's own words, with the secret it was sent blanked (an echo must not be stored).
            details = self._parse_error(response.content, f"HTTP {response.status_code}", self._secret)
            wait = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
            raise UpstreamError(
                ErrorKind.TRANSIENT,
                f"token endpoint: {details.message}",
                status_code=response.status_code,
                retry_after_s=wait,
            )
        if not response.is_success:
            raise UpstreamError(
                ErrorKind.AUTH,
                f"token endpoint refused client id {self.client_id!r} (HTTP {response.status_code}): "
                "check the client id and secret settings",
                status_code=response.status_code,
            )
        return self._read(response)

    def _read(self, response: httpx.Response) -> tuple[str, float]:
        try:
            body = response.json()
            token, lifetime = body["access_token"], float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise UpstreamError(ErrorKind.TRANSIENT, "token endpoint answered without an access_token") from None
        if not isinstance(token, str) or not token:
            raise UpstreamError(ErrorKind.TRANSIENT, "token endpoint answered an empty access_token")
        instance = body.get("instance_url")
        self.instance_url = instance if isinstance(instance, str) and len(instance) <= MAX_INSTANCE_URL else None
        return token, max(0.0, lifetime)
