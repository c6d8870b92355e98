"""Which token provider a target gets, resolved inside an activity, and kept per process.

Targets name their credentials (environment variables / app settings); this is where the names are resolved.
Client-credential tokens are cached across activity calls in the same worker, so each poll does not cost a
token request (the token endpoint's own rate limit would punish it). Delegated (signed-in user) providers are
cached the same way, so a worker keeps one MSAL client (its OpenID configuration read once) per target; their
token cache blob is in the exports storage account, reached like the exports themselves.

What a connector's API expects of a credential (its default token endpoint, how that endpoint's errors read) is
given by the caller (`TokenEndpoint`, read from the connector's spec): nothing here knows an upstream.

The origin policy (`targets.origins`) is applied again here, where credentials are read: a target that reached
an activity without passing the trigger's validation still cannot send a credential to this machine's loopback
interface unless loopback upstreams are allowed.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from typing import Any

from connectors.credential_interface import TokenEndpoint, TokenProvider
from credentials.client_credentials import ClientCredentialsTokenProvider
from credentials.delegated import DelegatedTokenProvider
from credentials.static_token import StaticTokenProvider
from credentials.token_cache import BlobTokenCache
from kernel.errors import ConfigurationError, ErrorKind
from sinks.storage_clients import StorageSettings
from targets.model import MsalTokenCache
from targets.origins import check_origin_policy

_providers: dict[str, TokenProvider] = {}
_lock = threading.Lock()


def _env(name: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(ErrorKind.PERMANENT, f"credential setting {name} is not set")
    return value


def _allowed_origin(url: str, what: str, target: Mapping[str, Any], env: Mapping[str, str]) -> str:
    try:
        return check_origin_policy(url, what, env)
    except ValueError as exc:
        raise ConfigurationError(ErrorKind.PERMANENT, f"target {target.get('name')!r}: {exc}") from None


def token_provider_for(
    target: Mapping[str, Any], endpoint: TokenEndpoint, environ: Mapping[str, str] | None = None
) -> TokenProvider:
    """The provider of `target`'s credential; `endpoint` is what its connector's API expects by default."""
    env = os.environ if environ is None else environ
    auth = target["auth"]
    _allowed_origin(target["base_url"], "base_url", target, env)
    if auth["kind"] == "bearer_env":
        return StaticTokenProvider(auth["env"], env)
    if auth["kind"] == "client_credentials_env":
        return _client_credentials(target, endpoint, env)
    if auth["kind"] == "msal_token_cache":
        return _delegated_provider(target["name"], auth, env)
    raise ConfigurationError(ErrorKind.PERMANENT, f"unsupported auth kind {auth['kind']!r}")


def _client_credentials(target: Mapping[str, Any], endpoint: TokenEndpoint, env: Mapping[str, str]) -> TokenProvider:
    auth = target["auth"]
    token_url = auth.get("token_url") or endpoint.url_for(target["base_url"])
    if token_url is None:
        raise ConfigurationError(
            ErrorKind.PERMANENT,
            f"target {target.get('name')!r}: connector {target.get('connector')!r} has no default OAuth token "
            "endpoint; set auth.token_url",
        )
    _allowed_origin(token_url, "token_url", target, env)
    client_id, secret = _env(auth["client_id_env"], env), _env(auth["client_secret_env"], env)
    key = hashlib.sha256(f"{token_url}\0{client_id}\0{secret}\0{endpoint.scope or ''}".encode()).hexdigest()
    with _lock:
        if key not in _providers:
            _providers[key] = ClientCredentialsTokenProvider(
                token_url, client_id, secret, endpoint.parse_error, scope=endpoint.scope
            )
        return _providers[key]


def _delegated_provider(name: str, auth: Mapping[str, Any], env: Mapping[str, str]) -> TokenProvider:
    try:
        settings = MsalTokenCache.model_validate(auth)  # its authority_host passes the origin policy
        storage = StorageSettings.from_env(env)
        container, blob = settings.cache_location(name, storage.container)
        scopes = settings.requested_scopes
    except ValueError as exc:
        raise ConfigurationError(ErrorKind.PERMANENT, f"token cache of target {name!r}: {exc}") from None
    identity = [name, storage.connection_string, storage.blob_account_url, container, blob, settings.client_id]
    key = hashlib.sha256(json.dumps([*identity, settings.authority, list(scopes)]).encode()).hexdigest()
    with _lock:
        if key not in _providers:
            cache = BlobTokenCache(storage.blob_service().get_blob_client(container, blob))
            _providers[key] = DelegatedTokenProvider(name, settings.client_id, settings.authority, scopes, cache)
        return _providers[key]
