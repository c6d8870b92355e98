"""Delegated tokens taken silently from the signed-in user's cache: use, refresh, and what a person must fix.

MSAL runs unmodified against the stand-in identity provider (`tests/support/identity_provider.py`); the cache
blobs live in the real Azurite.
"""

from __future__ import annotations

import json
import logging
import socket

import pytest

from kernel.errors import ErrorKind, UpstreamError
from tests.credentials.signed_in import SIGNIN, assert_no_token, blob_client, sign_in_as, stored_secrets, worker
from tests.support.identity_provider import (
    ALICE,
    AUTHORITY_HOST,
    CLIENT_ID,
    REVOKED,
    TENANT,
    LoopbackTransport,
    StandInIdentityProvider,
)

pytestmark = pytest.mark.integration


# --- silent use and refresh ----------------------------------------------------------------------------------


def test_runs_use_the_token_from_sign_in_without_asking_the_identity_provider_or_rewriting_the_blob(
    idp: StandInIdentityProvider, transport: LoopbackTransport, storage_connection_string: str, cache_blob: str
) -> None:
    sign_in_as(idp, ALICE, storage_connection_string, cache_blob, transport)
    etag = blob_client(storage_connection_string, cache_blob).get_blob_properties().etag

    tokens = [worker(storage_connection_string, cache_blob, transport).get_token() for _ in range(2)]

    assert tokens == [idp.access_tokens[-1]] * 2
    assert idp.grants == ["device_code"]
    assert blob_client(storage_connection_string, cache_blob).get_blob_properties().etag == etag


def test_an_expired_access_token_is_refreshed_and_the_new_cache_saved_for_every_worker(
    idp: StandInIdentityProvider, transport: LoopbackTransport, storage_connection_string: str, cache_blob: str
) -> None:
    idp.access_token_lifetime = 60  # MSAL treats less than five minutes as expired
    sign_in_as(idp, ALICE, storage_connection_string, cache_blob, transport)
    signed_in_token = idp.access_tokens[-1]
    etag = blob_client(storage_connection_string, cache_blob).get_blob_properties().etag
    idp.access_token_lifetime = 3600

    token = worker(storage_connection_string, cache_blob, transport).get_token()

    assert token == idp.access_tokens[-1] != signed_in_token
    assert idp.grants == ["device_code", "refresh_token"]
    assert blob_client(storage_connection_string, cache_blob).get_blob_properties().etag != etag
    assert token in stored_secrets(storage_connection_string, cache_blob, "AccessToken")
    assert worker(storage_connection_string, cache_blob, transport).get_token() == token  # another worker: no refresh
    assert idp.grants == ["device_code", "refresh_token"]


def test_force_refresh_asks_the_identity_provider_even_when_the_cached_token_is_fresh(
    idp: StandInIdentityProvider, transport: LoopbackTransport, storage_connection_string: str, cache_blob: str
) -> None:
    sign_in_as(idp, ALICE, storage_connection_string, cache_blob, transport)
    provider = worker(storage_connection_string, cache_blob, transport)

    refreshed = provider.get_token(force_refresh=True)

    assert refreshed == idp.access_tokens[-1]
    assert idp.grants == ["device_code", "refresh_token"]
    assert provider.get_token() == refreshed


def test_a_revoked_refresh_token_is_an_auth_error_that_says_to_sign_in_again_and_holds_no_token(
    idp: StandInIdentityProvider,
    transport: LoopbackTransport,
    storage_connection_string: str,
    cache_blob: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    idp.access_token_lifetime = 60
    sign_in_as(idp, ALICE, storage_connection_string, cache_blob, transport)
    idp.revoke_all()

    with pytest.raises(UpstreamError) as caught:
        worker(storage_connection_string, cache_blob, transport).get_token()

    assert caught.value.kind is ErrorKind.AUTH
    assert caught.value.message == (
        "the identity provider refused the signed-in user's refresh token for target 'goals' (invalid_grant, "
        "AADSTS50173): it was revoked or has expired, or the user's password or sign-in requirements changed. "
        f"Run `{SIGNIN}` again to sign in, then run the export again"
    )
    assert REVOKED not in json.dumps(caught.value.to_dict())
    assert REVOKED in caplog.text  # the logs were captured, and hold no token either
    assert_no_token(idp, str(caught.value), json.dumps(caught.value.to_dict()), caplog.text)


def test_withdrawn_consent_says_to_sign_in_again_and_that_an_admin_may_have_to_grant_goals_export(
    idp: StandInIdentityProvider, transport: LoopbackTransport, storage_connection_string: str, cache_blob: str
) -> None:
    sign_in_as(idp, ALICE, storage_connection_string, cache_blob, transport)
    idp.consent_withdrawn = True

    with pytest.raises(UpstreamError) as caught:
        worker(storage_connection_string, cache_blob, transport).get_token(force_refresh=True)

    assert caught.value.kind is ErrorKind.AUTH
    assert caught.value.message == (
        "the identity provider refused the token of target 'goals' because consent is missing (invalid_grant, "
        f"AADSTS65001). Run `{SIGNIN}` again and accept the consent prompt; if your organisation does not let "
        f"users consent, an administrator must first grant admin consent for Goals-Export.ReadWrite.All to "
        f"application {CLIENT_ID}"
    )
    assert_no_token(idp, str(caught.value))


def test_an_unreachable_identity_provider_is_transient(storage_connection_string: str, cache_blob: str) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(UpstreamError) as caught:
        worker(storage_connection_string, cache_blob, LoopbackTransport(closed_port)).get_token()

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert f"identity provider {AUTHORITY_HOST}/{TENANT} is unreachable" in caught.value.message
