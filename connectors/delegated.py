"""Delegated (signed-in user) tokens for unattended runs, refreshed from an MSAL token cache kept in a blob.

Why this exists: Graph's Viva Goals export API accepts only delegated tokens (there is no application
permission), and a timer-triggered export cannot sign anyone in. So a person signs in once with the device code
flow (`python -m local signin`), MSAL's serialized token cache (holding that user's refresh token) is stored where
every worker can read and update it, and each run takes access tokens from it silently, refreshing them as they
expire. Only when the refresh token itself is refused (revoked, expired, password or policy change, consent
withdrawn) does a person have to act, and the error says exactly what to run.

Why the cache is a blob and not a Key Vault secret:

- It changes on every refresh (new access token, usually a rotated refresh token), roughly hourly per target.
  Every Key Vault write is a new secret version that is kept (and listed, and billed) until purged; secrets are
  limited to 25 KB; writes are throttled per vault; and Key Vault has no compare-and-swap, so two workers
  refreshing at once would silently overwrite each other.
- A blob in the exports storage account is reached with the identity the app already uses (no new secret, no new
  setting), is overwritten in place, and supports ETag-conditional writes: a worker saves only over the version it
  read; when another writer saved first, it reloads and retries once. A refresh therefore never clobbers a newer
  sign-in or another worker's refresh.
- It lives in its own container (`token-caches` by default), never the exports container: export consumers may
  read that one, and a refresh token is as sensitive as the user's access to Goals exports. The container is
  private (the storage account allows no public access at all); only the app's identity and the person who signs
  in need data roles on it.

Tokens appear nowhere but in the cache blob and the returned value: errors and logs carry the target, the blob,
the client id and the identity provider's error codes, never its description or a token.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import msal  # type: ignore[import-untyped]
import requests
from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobClient, ContentSettings
from msal.exceptions import MsalServiceError  # type: ignore[import-untyped]

from connectors.base import ErrorKind, UpstreamError

log = logging.getLogger(__name__)
# MSAL's only DEBUG record in its cache module logs each token event; it masks tokens but not the device code
# of a sign-in, which is a credential until redeemed. Nothing else is lost by dropping it.
logging.getLogger("msal.token_cache").addFilter(lambda record: record.levelno > logging.DEBUG)

T = TypeVar("T")
MsalApp = Any  # msal ships no type information
IDP_TIMEOUT_S = 30.0
MAX_CACHE_BYTES = 1024 * 1024  # an MSAL cache of one account is a few KB
# Network failures (requests, which MSAL uses) and MSAL's own error for a 5xx answer: worth retrying later.
IDP_UNREACHABLE: tuple[type[BaseException], ...] = (requests.RequestException, MsalServiceError)
TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error", "slow_down"})
CONSENT_CODES = frozenset({65001, 65004, 90094, 90095})  # AADSTS: consent missing, declined, admin consent needed
PUBLIC_CLIENT_DISABLED = 7000218  # AADSTS: the app registration does not allow public client flows
_CONFLICTS = (ResourceModifiedError, ResourceExistsError, ResourceNotFoundError)
_JSON = ContentSettings(content_type="application/json")


def signin_command(target: str) -> str:
    return f"python -m local signin {target} --targets <your targets file>"


def scope_names(scopes: Sequence[str]) -> str:
    """`https://graph.microsoft.com/Goals-Export.ReadWrite.All` → `Goals-Export.ReadWrite.All`, as admins see it."""
    return ", ".join(scope.rsplit("/", 1)[-1] for scope in scopes)


def error_summary(result: Mapping[str, Any]) -> tuple[str, list[int]]:
    """The error code and AADSTS numbers of an MSAL error result; nothing free-form, so no token can slip in."""
    error = result.get("error")
    code = error if isinstance(error, str) and error.replace("_", "").isalpha() and len(error) <= 64 else "error"
    numbers = result.get("error_codes")
    codes = (
        [n for n in numbers if isinstance(n, int) and not isinstance(n, bool)][:5] if isinstance(numbers, list) else []
    )
    return code, codes


def describe(code: str, codes: Sequence[int]) -> str:
    return ", ".join([code, *(f"AADSTS{number}" for number in codes)])


def needs_consent(result: Mapping[str, Any]) -> bool:
    code, codes = error_summary(result)
    return (
        code == "consent_required" or result.get("suberror") == "consent_required" or bool(CONSENT_CODES & set(codes))
    )


def consent_hint(client_id: str, scopes: Sequence[str]) -> str:
    return (
        f"if your organisation does not let users consent, an administrator must first grant admin consent for "
        f"{scope_names(scopes)} to application {client_id}"
    )


def public_client_hint(client_id: str) -> str:
    return f"application {client_id} must allow public client flows (app registration > Authentication)"


def storage_error(exc: AzureError, action: str, ref: str) -> UpstreamError:
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        container = ref.split("/", 1)[0]
        return UpstreamError(
            ErrorKind.PERMANENT,
            f"cannot {action} the token cache blob {ref}: the identity in use needs Storage Blob Data Contributor "
            f"(or Owner) on container {container}",
            status_code=status,
        )
    return UpstreamError(
        ErrorKind.TRANSIENT, f"cannot {action} the token cache blob {ref} right now ({type(exc).__name__})",
        status_code=status,
    )  # fmt: skip


def public_client(client_id: str, authority: str, cache: Any, http_client: Any | None = None) -> MsalApp:
    """MSAL's public client for `authority`, holding `cache`. Building it reads the OpenID configuration.

    Instance discovery is off: the cache is written and read with the same authority host, so MSAL never needs
    the host's aliases, and a national cloud never calls the public cloud's discovery endpoint.
    """
    transport: dict[str, Any] = {"http_client": http_client} if http_client is not None else {"timeout": IDP_TIMEOUT_S}
    try:
        return msal.PublicClientApplication(
            client_id, authority=authority, token_cache=cache, instance_discovery=False, **transport
        )
    except IDP_UNREACHABLE as exc:
        raise UpstreamError(
            ErrorKind.TRANSIENT, f"identity provider {authority} is unreachable ({type(exc).__name__})"
        ) from None
    except (ValueError, KeyError):
        raise UpstreamError(
            ErrorKind.PERMANENT,
            f"cannot read the OpenID configuration of {authority}: check the target's authority_host and tenant_id",
        ) from None


class BlobTokenCache:
    """One MSAL token cache in one private blob, updated with optimistic concurrency (ETags); thread-safe."""

    def __init__(self, blob: BlobClient) -> None:
        self.blob = blob
        self.cache = msal.SerializableTokenCache()
        self.etag: str | None = None
        self._lock = threading.RLock()

    @property
    def ref(self) -> str:
        return f"{self.blob.container_name}/{self.blob.blob_name}"

    def __repr__(self) -> str:
        return f"BlobTokenCache({self.ref!r})"

    def load(self) -> bool:
        """Replace the in-memory cache with the blob's; False when there is no usable blob (nobody signed in)."""
        with self._lock:
            try:
                downloader = self.blob.download_blob()
                if downloader.size > MAX_CACHE_BYTES:
                    raise UpstreamError(
                        ErrorKind.PERMANENT,
                        f"token cache blob {self.ref} is {downloader.size} bytes, not a token cache",
                    )
                data, etag = downloader.readall(), downloader.properties.etag
            except ResourceNotFoundError:
                data, etag = None, None
            except AzureError as exc:
                raise storage_error(exc, "read", self.ref) from None
            self.etag = etag
            state = self._readable(data)
            self.cache.deserialize(state)
            return state is not None

    def _readable(self, data: bytes | None) -> str | None:
        if data is None:
            return None
        try:
            text = data.decode("utf-8")
            if isinstance(json.loads(text), dict):
                return text
        except ValueError:  # UnicodeDecodeError and JSONDecodeError both are
            pass
        log.warning("token cache blob %s does not hold an MSAL token cache; treating it as empty", self.ref)
        return None

    def save(self) -> bool:
        """Write the cache back if MSAL changed it, only over the version loaded; False if another writer was first."""
        with self._lock:
            if not self.cache.has_state_changed:
                return True
            body = self.cache.serialize().encode("utf-8")
            try:
                if self.etag is None:  # nothing was there: create it, unless someone just did
                    result = self.blob.upload_blob(body, overwrite=False, content_settings=_JSON)
                else:
                    result = self.blob.upload_blob(
                        body, overwrite=True, content_settings=_JSON,
                        etag=self.etag, match_condition=MatchConditions.IfNotModified,
                    )  # fmt: skip
            except _CONFLICTS:
                return False
            except AzureError as exc:
                raise storage_error(exc, "write", self.ref) from None
            self.etag = result["etag"]
            return True

    def replace(self) -> None:
        """Write the cache whatever the blob holds: a new sign-in supersedes every earlier state."""
        with self._lock:
            body = self.cache.serialize().encode("utf-8")
            try:
                self.etag = self.blob.upload_blob(body, overwrite=True, content_settings=_JSON)["etag"]
            except AzureError as exc:
                raise storage_error(exc, "write", self.ref) from None

    def update(self, operation: Callable[[bool], T]) -> T:
        """Run `operation` on the freshest cache and save what it changed; after a write conflict, once more.

        `operation` is told whether it runs again after a conflict. The version another writer saved is at least
        as new as ours (a refresh or a new sign-in), so on a second conflict theirs is kept and our result stands.
        """
        with self._lock:
            outcome: T
            for again in (False, True):
                self.load()
                outcome = operation(again)
                if self.save():
                    return outcome
                log.info("token cache %s was saved by another writer meanwhile; reloading it", self.ref)
            log.warning("token cache %s changed again during the retry; keeping the other writer's version", self.ref)
            return outcome


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
