"""What a connector and a credential say to each other: the one module of `connectors` that `credentials` reads.

Why neutral: a credential provider must know where an API exchanges client credentials for a token and how that
endpoint's errors read, but not which API it is. The registry answers these from a connector's spec
(`connectors.registry.token_endpoint`); the credential kinds (`credentials/`) answer `TokenProvider`. A token
request is sent like every upstream call, so the few pieces of the HTTP safety core it needs (settings and the
guarded `fetch`, the per-call deadline, Retry-After) are passed on from here too, and `credentials` imports no
other module of `connectors` (tests/test_import_graph.py holds it to that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from connectors.http.deadline import within
from connectors.http.envelopes import ErrorParser
from connectors.http.retry_after import parse_retry_after
from connectors.http.transport import HttpSettings, fetch
from connectors.http.urls import origin_of

__all__ = ["ErrorParser", "HttpSettings", "TokenEndpoint", "TokenProvider", "fetch", "parse_retry_after", "within"]


class TokenProvider(Protocol):
    """Whatever hands out the bearer token of one API (the `credentials` package holds the kinds)."""

    def get_token(self, *, force_refresh: bool = False) -> str: ...


@dataclass(frozen=True)
class TokenEndpoint:
    """Where a connector's API exchanges OAuth client credentials for a token by default, and how that
    endpoint's errors read. `path` is on the API's origin; None when the API has no default endpoint (then a
    target using client credentials must name its `token_url`). `scope` is the OAuth scope the token is asked
    for (Entra ID: `<resource>/.default`, one resource per token), None to send none."""

    path: str | None
    parse_error: ErrorParser
    scope: str | None = None

    def url_for(self, base_url: str) -> str | None:
        return None if self.path is None else origin_of(base_url).url() + self.path
