"""The classified failures every layer shares: what went wrong, where, and what to do about it.

Why in the kernel: activities, orchestrators, sinks, credentials and connectors all raise or read
them, and none of them should import another layer for a type of error.
"""

from __future__ import annotations

import enum
from typing import Any


class ErrorKind(enum.StrEnum):
    """What the orchestrator should do about a failed call (its table is `orchestrators.failure_policy`)."""

    TRANSIENT = "transient"  # 429, 5xx, network, our storage unavailable: wait (server's wait if given) and retry
    CONFLICT = "conflict"  # 409 on create: adopt `existing_job_id`
    EXPIRED = "expired"  # the result is gone: re-create the job
    AUTH = "auth"  # 401 after one refresh: the credential is not accepted
    PERMANENT = "permanent"  # 400/403/404, a refused setting, an undecodable value: fail fast with what was wrong


class Source(enum.StrEnum):
    """Where a classified failure happened: what the user is told to look at."""

    UPSTREAM = "upstream"  # the export API or its identity provider, and the network to them
    STORAGE = "storage"  # our own Blob Storage (exports, manifests, latest.json)
    TOKEN_CACHE = "token_cache"  # noqa: S105 (a name, not a secret): the blob that holds a delegated sign-in's MSAL token cache
    CONFIGURATION = "configuration"  # a target or app setting that cannot be used as it is
    CONTRACT = "contract"  # a value in the history or a manifest that cannot be decoded
    ACTIVITY = "activity"  # an activity ended without classifying its failure: the host's report of a lost worker


# The others are permanent. A token cache is a blob of our storage; an unclassified activity failure is how the host
# reports a worker it lost (every failure an activity expects is classified), so it gets the bounded retries too.
MAY_BE_RETRIED = frozenset({Source.UPSTREAM, Source.STORAGE, Source.TOKEN_CACHE, Source.ACTIVITY})
LEGACY_STORAGE_KIND = "storage"  # before `Source`, a storage failure was kind "storage" (always retried)


class ExportError(Exception):
    """A classified failure, answered by an activity as a `Failure`. Its text never holds a token.

    The subclass says where it happened (`source`), `kind` what to do about it. Only upstream (network included)
    and storage failures may be `TRANSIENT`: nothing else gets better by repeating.
    """

    source: Source = Source.UPSTREAM

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        retry_after_s: float | None = None,
        existing_job_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind if self.source in MAY_BE_RETRIED else ErrorKind.PERMANENT
        self.message = message
        self.status_code = status_code
        self.code = code
        self.retry_after_s = retry_after_s
        self.existing_job_id = existing_job_id

    def describe(self) -> str:
        return f"{self.source.value.replace('_', ' ')} error"

    def __str__(self) -> str:
        status = f"HTTP {self.status_code} " if self.status_code else ""
        code = f"{self.code}: " if self.code else ""
        return f"{self.describe()}: {status}{code}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "message": self.message,
            "status_code": self.status_code,
            "code": self.code,
            "retry_after_s": self.retry_after_s,
            "existing_job_id": self.existing_job_id,
            "source": self.source.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportError:
        """The failure `to_dict` wrote, or one a release before `source` wrote (kind "storage": storage)."""
        kind, source = data["kind"], data.get("source", Source.UPSTREAM.value)
        if kind == LEGACY_STORAGE_KIND:
            kind, source = ErrorKind.TRANSIENT.value, Source.STORAGE.value
        return ERROR_TYPES[Source(source)](
            ErrorKind(kind),
            data["message"],
            status_code=data.get("status_code"),
            code=data.get("code"),
            retry_after_s=data.get("retry_after_s"),
            existing_job_id=data.get("existing_job_id"),
        )


class UpstreamError(ExportError):
    """A classified failure of the upstream export API, its identity provider, or the network to them."""

    source = Source.UPSTREAM

    def describe(self) -> str:
        return f"{self.kind.value} upstream error"


class StorageError(ExportError):
    """Our own Blob Storage failed: retried while it may come back, reported as storage, not as the upstream."""

    source = Source.STORAGE


class TokenCacheError(ExportError):
    """The blob holding a delegated sign-in's token cache cannot be read, written or used."""

    source = Source.TOKEN_CACHE


class ConfigurationError(ExportError, ValueError):
    """A target or app setting that cannot be used as it is: always permanent, whatever kind it is given.

    Also a `ValueError`, which is what a setting that cannot be used raised before it had a type of its own."""

    source = Source.CONFIGURATION


class ContractError(ExportError):
    """A request, an answer or a manifest that cannot be decoded: always permanent, whatever kind it is given."""

    source = Source.CONTRACT


class ActivityFailed(ExportError):
    """An activity that raised instead of answering: the host's words for it, retried within the usual bound."""

    source = Source.ACTIVITY

    def describe(self) -> str:
        return "activity error"


ERROR_TYPES: dict[Source, type[ExportError]] = {
    Source.UPSTREAM: UpstreamError,
    Source.STORAGE: StorageError,
    Source.TOKEN_CACHE: TokenCacheError,
    Source.CONFIGURATION: ConfigurationError,
    Source.CONTRACT: ContractError,
    Source.ACTIVITY: ActivityFailed,
}
