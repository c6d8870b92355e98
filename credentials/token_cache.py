"""One MSAL token cache in one private blob, updated with optimistic concurrency (ETags).

Why a blob and not a Key Vault secret:

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
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import msal  # type: ignore[import-untyped]
from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobClient, ContentSettings

from kernel.errors import ErrorKind, TokenCacheError

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_CACHE_BYTES = 1024 * 1024  # an MSAL cache of one account is a few KB
_CONFLICTS = (ResourceModifiedError, ResourceExistsError, ResourceNotFoundError)
_JSON = ContentSettings(content_type="application/json")


def storage_error(exc: AzureError, action: str, ref: str) -> TokenCacheError:
    status = getattr(exc, "status_code", None)
    if status in (401, 403):
        container = ref.split("/", 1)[0]
        return TokenCacheError(
            ErrorKind.PERMANENT,
            f"cannot {action} the token cache blob {ref}: the identity in use needs Storage Blob Data Contributor "
            f"(or Owner) on container {container}",
            status_code=status,
        )
    return TokenCacheError(
        ErrorKind.TRANSIENT,
        f"cannot {action} the token cache blob {ref} right now ({type(exc).__name__})",
        status_code=status,
    )


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
                    raise TokenCacheError(
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
                        body,
                        overwrite=True,
                        content_settings=_JSON,
                        etag=self.etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
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
