"""What the delegated-credential tests build: a token cache target, a worker's provider, a sign-in, the stored cache."""

from __future__ import annotations

import io
import json
from typing import Any

from azure.storage.blob import BlobClient, BlobServiceClient

from credentials.delegated import DelegatedTokenProvider
from credentials.signin import cache_for, sign_in
from credentials.token_cache import BlobTokenCache
from sinks.storage_clients import StorageSettings
from targets import Target, parse_targets
from targets.model import MsalTokenCache
from tests.support.identity_provider import (
    AUTHORITY_HOST,
    CLIENT_ID,
    SCOPE,
    TENANT,
    TOKEN_MARKS,
    LoopbackTransport,
    StandInIdentityProvider,
)
from tests.support.targets import ORG, VIEW

SIGNIN = "python -m credentials.signin goals --targets <your targets file>"  # ships with the app, unlike local/


def target_document(cache_blob: str | None, **auth: Any) -> dict[str, Any]:
    settings = {"kind": "msal_token_cache", "client_id": CLIENT_ID, "tenant_id": TENANT}
    settings |= {"authority_host": AUTHORITY_HOST} | ({"cache_blob": cache_blob} if cache_blob else {}) | auth
    return {
        "name": "goals",
        "connector": "viva_goals",
        "base_url": "https://graph.microsoft.com/beta",
        "params": {"goals_organization_id": ORG, "explorer_view_id": VIEW},
        "auth": settings,
    }


def goals_target(cache_blob: str | None, **auth: Any) -> Target:
    return parse_targets({"targets": [target_document(cache_blob, **auth)]})["goals"]


def blob_client(connection_string: str, cache_blob: str) -> BlobClient:
    container, _, name = cache_blob.partition("/")
    return BlobServiceClient.from_connection_string(connection_string).get_blob_client(container, name)


def worker(connection_string: str, cache_blob: str, transport: LoopbackTransport) -> DelegatedTokenProvider:
    """What one Function App worker builds for the target: its own MSAL client and its own view of the blob."""
    cache = BlobTokenCache(blob_client(connection_string, cache_blob))
    return DelegatedTokenProvider(
        "goals", CLIENT_ID, f"{AUTHORITY_HOST}/{TENANT}", [SCOPE], cache, http_client=transport
    )


def sign_in_as(
    idp: StandInIdentityProvider, user: str, connection_string: str, cache_blob: str, transport: LoopbackTransport
) -> None:
    """What `python -m credentials.signin goals` does, as `user`."""
    idp.user = user
    auth = goals_target(cache_blob).auth
    assert isinstance(auth, MsalTokenCache)
    cache = cache_for("goals", auth, StorageSettings(connection_string, None, None))
    sign_in("goals", auth, cache, http_client=transport, out=io.StringIO())


def stored(connection_string: str, cache_blob: str) -> dict[str, Any]:
    """The MSAL cache as the blob holds it."""
    data: dict[str, Any] = json.loads(blob_client(connection_string, cache_blob).download_blob().readall())
    return data


def stored_users(connection_string: str, cache_blob: str) -> list[str]:
    return sorted(account["username"] for account in stored(connection_string, cache_blob)["Account"].values())


def stored_secrets(connection_string: str, cache_blob: str, section: str) -> set[str]:
    return {entry["secret"] for entry in stored(connection_string, cache_blob)[section].values()}


def assert_no_token(idp: StandInIdentityProvider, *texts: str) -> None:
    for text in texts:
        assert not any(mark in text for mark in TOKEN_MARKS)
        assert not any(secret in text for secret in idp.secrets_issued())
