"""Delegated (signed-in user) tokens for unattended runs, refreshed from an MSAL token cache kept in a blob.

Why this exists: Graph's Viva Goals export API accepts only delegated tokens (there is no application
permission), and a timer-triggered export cannot sign anyone in. So a person signs in once with the device code
flow (`credentials.signin`), MSAL's serialized token cache (holding that user's refresh token) is stored where
every worker can read and update it (`credentials.token_cache`, which also says why a blob), and each run takes
access tokens from it silently, refreshing them as they expire. Only when the refresh token itself is refused
(revoked, expired, password or policy change, consent withdrawn) does a person have to act, and the error says
exactly what to run.

Tokens appear nowhere but in the cache blob and the returned value: errors and logs carry the target, the blob,
the client id and the identity provider's error codes, never its description or a token.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from credentials.msal_client import (
    IDP_UNREACHABLE,
    PUBLIC_CLIENT_DISABLED,
    TRANSIENT_ERRORS,
    MsalApp,
    consent_hint,
    describe,
    error_summary,
    needs_consent,
    public_client,
    public_client_hint,
)
from credentials.signin import signin_command
from credentials.token_cache import BlobTokenCache
from kernel.errors import ErrorKind, UpstreamError

log = logging.getLogger(__name__)


class DelegatedTokenProvider:
    """Access tokens of the user who signed in for a target, taken silently from a `BlobTokenCache`; thread-safe.

    Every call reloads the blob (a few KB), so each worker uses the newest refresh token and picks up a new
    sign-in at once; the blob is written only when MSAL refreshed something.
    """

    def __init__(
        self,
        target: str,
        client_id: str,
        authority: str,
        scopes: Sequence[str],
        cache: BlobTokenCache,
        *,
        http_client: Any | None = None,
    ) -> None:
        self.target = target
        self.client_id = client_id
        self.authority = authority
        self.scopes = list(scopes)
        self.cache = cache
        self._http_client = http_client
        self._app: MsalApp | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"DelegatedTokenProvider(target={self.target!r}, client_id={self.client_id!r}, "
            f"authority={self.authority!r}, cache={self.cache.ref!r})"
        )

    def get_token(self, *, force_refresh: bool = False) -> str:
        with self._lock:
            if self._app is None:
                self._app = public_client(self.client_id, self.authority, self.cache.cache, self._http_client)
            app = self._app
            # After a conflict the reloaded cache holds tokens newer than the one the caller rejected: no force.
            return self.cache.update(lambda again: self._acquire(app, force_refresh=force_refresh and not again))

    def _acquire(self, app: MsalApp, *, force_refresh: bool) -> str:
        accounts = app.get_accounts()
        if not accounts:
            raise UpstreamError(
                ErrorKind.AUTH,
                f"no signed-in user for target {self.target!r}: token cache {self.cache.ref} holds no account. "
                f"Run `{signin_command(self.target)}` to sign in, then run the export again",
            )
        try:
            result = app.acquire_token_silent_with_error(self.scopes, accounts[0], force_refresh=force_refresh)
        except IDP_UNREACHABLE as exc:
            raise UpstreamError(
                ErrorKind.TRANSIENT,
                f"identity provider {self.authority} is unreachable while refreshing the token of target "
                f"{self.target!r} ({type(exc).__name__})",
            ) from None
        if not result:
            raise UpstreamError(
                ErrorKind.AUTH,
                f"token cache {self.cache.ref} holds no refresh token for target {self.target!r}. "
                f"Run `{signin_command(self.target)}` again to sign in, then run the export again",
            )
        if "error" in result:
            raise self._refused(result)
        token = result.get("access_token")
        if not isinstance(token, str) or not token:
            raise UpstreamError(ErrorKind.TRANSIENT, "identity provider answered without an access token")
        if result.get("token_source") == "identity_provider":
            log.info("target %s: delegated access token refreshed from token cache %s", self.target, self.cache.ref)
        return token

    def _refused(self, result: Mapping[str, Any]) -> UpstreamError:
        code, codes = error_summary(result)
        what = describe(code, codes)
        if code in TRANSIENT_ERRORS:
            return UpstreamError(
                ErrorKind.TRANSIENT,
                f"identity provider could not refresh the token of target {self.target!r} right now ({what})",
                code=code,
            )
        command = signin_command(self.target)
        if needs_consent(result):
            message = (
                f"the identity provider refused the token of target {self.target!r} because consent is missing "
                f"({what}). Run `{command}` again and accept the consent prompt; "
                f"{consent_hint(self.client_id, self.scopes)}"
            )
        elif PUBLIC_CLIENT_DISABLED in codes:
            message = (
                f"the identity provider refused the token of target {self.target!r} ({what}): "
                f"{public_client_hint(self.client_id)}; then run `{command}` again"
            )
        else:
            message = (
                f"the identity provider refused the signed-in user's refresh token for target {self.target!r} "
                f"({what}): it was revoked or has expired, or the user's password or sign-in requirements changed. "
                f"Run `{command}` again to sign in, then run the export again"
            )
        return UpstreamError(ErrorKind.AUTH, message, code=code)
