"""The MSAL token cache in a blob: what an unusable blob means, and writers that race (ETags keep the newest)."""

from __future__ import annotations

import pytest
from azure.storage.blob import BlobServiceClient

from kernel.errors import ErrorKind, UpstreamError
from tests.credentials.signed_in import SIGNIN, blob_client, sign_in_as, stored_secrets, stored_users, worker
from tests.support.identity_provider import ALICE, BOB, LoopbackTransport, StandInIdentityProvider

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("content", [None, b"not a token cache", b"[]"])
def test_a_missing_or_unreadable_cache_is_an_auth_error_that_says_to_sign_in(
    idp: StandInIdentityProvider,
    transport: LoopbackTransport,
    storage_connection_string: str,
    cache_blob: str,
    content: bytes | None,
) -> None:
    if content is not None:
        blob = blob_client(storage_connection_string, cache_blob)
        BlobServiceClient.from_connection_string(storage_connection_string).create_container(blob.container_name)
        blob.upload_blob(content)

    with pytest.raises(UpstreamError) as caught:
        worker(storage_connection_string, cache_blob, transport).get_token()

    assert caught.value.kind is ErrorKind.AUTH
    assert caught.value.message == (
        f"no signed-in user for target 'goals': token cache {cache_blob} holds no account. "
        f"Run `{SIGNIN}` to sign in, then run the export again"
    )
    assert idp.grants == []


# --- concurrent writers ----------------------------------------------------------------------------------------


def test_a_refresh_does_not_overwrite_a_sign_in_saved_while_it_ran(
    idp: StandInIdentityProvider, transport: LoopbackTransport, storage_connection_string: str, cache_blob: str
) -> None:
    idp.access_token_lifetime = 60
    sign_in_as(idp, ALICE, storage_connection_string, cache_blob, transport)

    def bob_signs_in_meanwhile() -> None:
        idp.access_token_lifetime = 3600
        sign_in_as(idp, BOB, storage_connection_string, cache_blob, LoopbackTransport(idp.port))

    idp.on_refresh = bob_signs_in_meanwhile
    token = worker(storage_connection_string, cache_blob, transport).get_token()

    assert idp.grants == ["device_code", "refresh_token", "device_code"]
    assert stored_users(storage_connection_string, cache_blob) == [BOB]
    bobs_token = idp.access_tokens[1]  # issued to Bob's sign-in, before Alice's refresh was answered
    assert token == bobs_token
    assert stored_secrets(storage_connection_string, cache_blob, "AccessToken") == {bobs_token}


def test_two_workers_refreshing_at_once_leave_one_cache_that_both_use(
    idp: StandInIdentityProvider, transport: LoopbackTransport, storage_connection_string: str, cache_blob: str
) -> None:
    idp.access_token_lifetime = 60
    sign_in_as(idp, ALICE, storage_connection_string, cache_blob, transport)
    first, second = (worker(storage_connection_string, cache_blob, LoopbackTransport(idp.port)) for _ in range(2))
    seconds_tokens: list[str] = []

    def second_worker_refreshes_meanwhile() -> None:
        idp.access_token_lifetime = 3600
        seconds_tokens.append(second.get_token())

    idp.on_refresh = second_worker_refreshes_meanwhile
    token = first.get_token()

    assert idp.grants == ["device_code", "refresh_token", "refresh_token"]
    assert seconds_tokens == [token]  # the first worker saw the conflict, reloaded and took the saved token
    assert stored_secrets(storage_connection_string, cache_blob, "AccessToken") == {token}
    assert worker(storage_connection_string, cache_blob, transport).get_token() == token
    assert idp.grants == ["device_code", "refresh_token", "refresh_token"]
