"""MSAL's public client and what its error results mean, shared by silent refreshes and the sign-in tool.

Why: both the scheduled refresh (`credentials.delegated`) and a person signing in (`credentials.signin`) talk to
the same identity provider through the same MSAL client, and must explain a refusal the same way: by the error
code and AADSTS numbers only (MSAL's free-form description may quote anything), with the one action that helps
(consent, public client flows, signing in again).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import msal  # type: ignore[import-untyped]
import requests
from msal.exceptions import MsalServiceError  # type: ignore[import-untyped]

from kernel.errors import ErrorKind, UpstreamError

# MSAL's only DEBUG record in its cache module logs each token event; it masks tokens but not the device code
# of a sign-in, which is a credential until redeemed. Nothing else is lost by dropping it.
logging.getLogger("msal.token_cache").addFilter(lambda record: record.levelno > logging.DEBUG)

MsalApp = Any  # msal ships no type information
IDP_TIMEOUT_S = 30.0
# Network failures (requests, which MSAL uses) and MSAL's own error for a 5xx answer: worth retrying later.
IDP_UNREACHABLE: tuple[type[BaseException], ...] = (requests.RequestException, MsalServiceError)
TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error", "slow_down"})
CONSENT_CODES = frozenset({65001, 65004, 90094, 90095})  # AADSTS: consent missing, declined, admin consent needed
PUBLIC_CLIENT_DISABLED = 7000218  # AADSTS: the app registration does not allow public client flows


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
