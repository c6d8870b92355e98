"""What the export orchestration does about each classified failure: the one table.

A failure answered by an activity is an `ExportError`: its `kind` says what may help, its `source` where it
happened (upstream, our storage, a token cache, the configuration, an undecodable value). Only the upstream
(network included) and our storage are ever retried: every other source is permanent by construction
(`kernel.errors.MAY_BE_RETRIED`), so a bug or a broken setting fails the run at once with its reason instead
of being retried for hours.
"""

from __future__ import annotations

import enum

from kernel.errors import ErrorKind, ExportError, Source


class Remedy(enum.Enum):
    RETRY = "wait and repeat the same step"
    ADOPT = "adopt the job that is already running upstream"
    RECREATE = "create the upstream job again"
    FAIL = "fail the export"


REMEDIES: dict[ErrorKind, Remedy] = {
    ErrorKind.TRANSIENT: Remedy.RETRY,
    ErrorKind.CONFLICT: Remedy.RETRY,  # a 409 on a poll is waited out; on a create it adopts (below)
    ErrorKind.EXPIRED: Remedy.RECREATE,
    ErrorKind.AUTH: Remedy.FAIL,
    ErrorKind.PERMANENT: Remedy.FAIL,
}

REFUSED_BY: dict[Source, str] = {
    Source.UPSTREAM: "upstream refused the export",
    Source.STORAGE: "Blob Storage refused the export",
    Source.TOKEN_CACHE: "the token cache cannot be used",
    Source.CONFIGURATION: "the target's configuration cannot be used",
    Source.CONTRACT: "a recorded value cannot be read",
    Source.ACTIVITY: "an activity failed",
}


def remedy(error: ExportError, *, creating: bool) -> Remedy:
    """What to do about `error`; `creating`: it answered the create call (only a create adopts a running job)."""
    if error.kind is ErrorKind.CONFLICT and error.existing_job_id and creating:
        return Remedy.ADOPT
    return REMEDIES[error.kind]


def refusal(error: ExportError) -> str:
    """The failure message for an error whose remedy is to fail."""
    return f"{REFUSED_BY[error.source]}: {error}"


def failure_kind(error: ExportError) -> str:
    """How the failure metric and event name a failure: the kind for the upstream's, else where it happened."""
    return error.kind.value if error.source is Source.UPSTREAM else error.source.value
