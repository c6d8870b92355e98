"""What a connector and a credential say to each other, and nothing else: the one module of `connectors` that
`credentials` reads.

Why neutral: a credential provider must know where an API exchanges client credentials for a token and how that
endpoint's errors read, but not which API it is. The registry answers these from a connector's spec
(`connectors.registry.token_endpoint`); the credential kinds (`credentials/`) answer `TokenProvider`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from connectors.http.envelopes import ErrorParser
from connectors.http.urls import origin_of

__all__ = ["ErrorParser", "TokenEndpoint", "TokenProvider"]


class TokenProvider(Protocol):
    """Whatever hands out the bearer token of one API (the `credentials` package holds the kinds)."""

    def get_token(self, *, force_refresh: bool = False) -> str: ...


@dataclass(frozen=True)
class TokenEndpoint:
    """Where a connector's API exchanges OAuth client credentials for a token by default, and how that
    endpoint's errors read. `path` is on the API's origin; None when the API has no default endpoint (then a
    target using client credentials must name its `token_url`)."""

    path: str | None
    parse_error: ErrorParser

    def url_for(self, base_url: str) -> str | None:
        return None if self.path is None else origin_of(base_url).url() + self.path
