"""Delegated tokens from an MSAL cache kept in a blob: sign-in, silent use, refresh, refusal, concurrent writers.

Nothing leaves the machine. MSAL runs unmodified against a stand-in identity provider on loopback: MSAL accepts
only https authorities, so its HTTP transport is swapped for one that sends every request for the made-up
authority host (a reserved `.test` name, which never resolves) to the stand-in over real HTTP, and fails the test
on any other host. The cache blobs live in the real Azurite.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import yaml
from azure.storage.blob import BlobClient, BlobServiceClient

from activities.connections import token_provider_for
from connectors.base import ErrorKind, UpstreamError
from connectors.delegated import BlobTokenCache, DelegatedTokenProvider
from local.signin import cache_for, sign_in, signin_main
from local.simulator.server import serve_in_background, stop_serving
from sinks.storage_clients import StorageSettings
from targets import Target, TargetsError, parse_targets
from targets.model import MsalTokenCache
from tests.support.targets import ORG, VIEW

pytestmark = pytest.mark.integration

AUTHORITY_HOST = "https://login.idp.test"
TENANT = "3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
CLIENT_ID = "7d9e1f2a-3b4c-4d5e-9f6a-7b8c9d0e1f2a"
SCOPE = "https://graph.microsoft.com/Goals-Export.ReadWrite.All"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ALICE, BOB = "alice@contoso.example", "bob@contoso.example"
SIGNIN = "python -m local signin goals --targets <your targets file>"
TOKEN_MARKS = ("idp-at-", "idp-rt-", "idp-dc-")  # every token the stand-in issues starts with one of these
REVOKED = "The provided grant has expired due to it being revoked."  # free text: errors must not repeat it


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class StandInIdentityProvider:
    """Answers what MSAL asks of Microsoft Entra ID: OpenID configuration, device codes, the token endpoint.

    Refresh tokens rotate on use and, as in Entra ID, older ones stay valid until revoked.
    """

    def __init__(self) -> None:
        self.user = ALICE  # who completes the next device code sign-in
        self.access_token_lifetime = 3600
        self.pending_polls = 0  # `authorization_pending` answers before a device code sign-in completes
        self.consent_withdrawn = False
        self.on_refresh: Callable[[], None] | None = None  # runs once, before the next refresh is answered
        self.owners: dict[str, str] = {}  # refresh token -> user
        self.revoked: set[str] = set()
        self.device_codes: dict[str, tuple[str, str]] = {}  # device code -> (user, scope asked for)
        self.user_codes: list[str] = []
        self.access_tokens: list[str] = []
        self.grants: list[str] = []  # grant types the token endpoint saw, in order
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def revoke_all(self) -> None:
        self.revoked |= set(self.owners)

    def secrets_issued(self) -> list[str]:
        return [*self.access_tokens, *self.owners, *self.device_codes]

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        if path != f"/{TENANT}/v2.0/.well-known/openid-configuration":
            return 404, {"error": "not_found"}
        base = f"{AUTHORITY_HOST}/{TENANT}"
        return 200, {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        }

    def post(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != CLIENT_ID:
            return 400, {"error": "unauthorized_client", "error_codes": [700016]}
        if path == f"/{TENANT}/oauth2/v2.0/devicecode":
            device_code, user_code = f"idp-dc-{secrets.token_hex(8)}", secrets.token_hex(4).upper()
            with self._lock:
                self.device_codes[device_code] = (self.user, form.get("scope", ""))
                self.user_codes.append(user_code)
            return 200, {
                "device_code": device_code, "user_code": user_code, "verification_uri": f"{AUTHORITY_HOST}/device",
                "expires_in": 900, "interval": 1, "message": f"enter {user_code} at {AUTHORITY_HOST}/device",
            }  # fmt: skip
        if path == f"/{TENANT}/oauth2/v2.0/token":
            grant = form.get("grant_type", "")
            self.grants.append("device_code" if grant == DEVICE_GRANT else grant)
            if grant == DEVICE_GRANT:
                return self._device_code(form)
            if grant == "refresh_token":
                return self._refresh(form)
        return 404, {"error": "not_found"}

    def _device_code(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = self.device_codes.get(form.get("device_code", ""))
        if grant is None:
            return 400, {"error": "expired_token", "error_codes": [70020]}
        if self.pending_polls > 0:
            self.pending_polls -= 1
            return 400, {"error": "authorization_pending", "error_codes": [70016]}
        return 200, self._tokens(*grant)

    def _refresh(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        refresh_token = form.get("refresh_token", "")
        if refresh_token in self.revoked or refresh_token not in self.owners:
            return 400, {
                "error": "invalid_grant", "error_codes": [50173], "error_description": f"AADSTS50173: {REVOKED}",
            }  # fmt: skip
        if self.consent_withdrawn:
            return 400, {
                "error": "invalid_grant", "error_codes": [65001], "suberror": "consent_required",
                "error_description": "AADSTS65001: The user or administrator has not consented to use the application.",
            }  # fmt: skip
        with self._lock:
            hook, self.on_refresh = self.on_refresh, None
        if hook is not None:
            hook()
        return 200, self._tokens(self.owners[refresh_token], form.get("scope", ""))

    def _tokens(self, user: str, scope: str) -> dict[str, Any]:
        access_token, refresh_token = f"idp-at-{secrets.token_hex(8)}", f"idp-rt-{secrets.token_hex(8)}"
        with self._lock:
            self.access_tokens.append(access_token)
            self.owners[refresh_token] = user
        oid, now = str(uuid.uuid5(uuid.NAMESPACE_URL, user)), int(time.time())
        claims = {
            "aud": CLIENT_ID, "iss": f"{AUTHORITY_HOST}/{TENANT}/v2.0", "iat": now, "nbf": now, "exp": now + 3600,
            "oid": oid, "sub": oid, "tid": TENANT, "preferred_username": user, "name": user, "ver": "2.0",
        }  # fmt: skip
        return {
            "token_type": "Bearer", "scope": scope, "expires_in": self.access_token_lifetime,
            "ext_expires_in": self.access_token_lifetime, "access_token": access_token, "refresh_token": refresh_token,
            "id_token": f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}.",
            "client_info": b64url({"uid": oid, "utid": TENANT}),
        }  # fmt: skip

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._answer(*idp.get(self.path))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                self._answer(*idp.post(self.path, {k: v[0] for k, v in parse_qs(body).items()}))

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


class LoopbackTransport:
    """MSAL's HTTP transport: real HTTP, with the made-up authority host mapped to a loopback port."""

    def __init__(self, port: int) -> None:
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy between us and loopback
        self.base = f"http://127.0.0.1:{port}"

    def _local(self, url: str) -> str:
        if not url.startswith(f"{AUTHORITY_HOST}/"):
            raise AssertionError(f"MSAL tried to reach {url}")
        return self.base + url[len(AUTHORITY_HOST) :]

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.get(self._local(url), params=params, headers=headers, **kwargs)

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", 10)
        return self.session.post(self._local(url), params=params, data=data, headers=headers, **kwargs)


@pytest.fixture
def idp() -> Iterator[StandInIdentityProvider]:
    stand_in = StandInIdentityProvider()
    thread = serve_in_background(stand_in.server, "stand-in-idp")
    try:
        yield stand_in
    finally:
        stop_serving(stand_in.server, thread)


@pytest.fixture
def transport(idp: StandInIdentityProvider) -> LoopbackTransport:
    return LoopbackTransport(idp.port)


@pytest.fixture
def cache_blob() -> str:
    """A container of this test's own in Azurite, so tests never share a cache."""
    return f"tc-{uuid.uuid4().hex[:16]}/goals.json"


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
    """What `python -m local signin goals` does, as `user`."""
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


# --- sign-in -------------------------------------------------------------------------------------------------


def test_signin_shows_the_code_on_stderr_and_names_the_account_on_stdout_only(
    idp: StandInIdentityProvider,
    transport: LoopbackTransport,
    storage_connection_string: str,
    cache_blob: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    idp.pending_polls = 1  # the user takes a moment: MSAL polls again
    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"targets": [target_document(cache_blob)]}))

    argv = ["goals", "--targets", str(targets), "--storage-connection-string", storage_connection_string]
    code = signin_main(argv, http_client=transport)

    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"{AUTHORITY_HOST}/device" in err
    assert idp.user_codes[-1] in err
    assert out == f"signed in as {ALICE} for target 'goals'; token cache stored in blob {cache_blob}\n"
    assert idp.grants == ["device_code", "device_code"]
    assert stored_users(storage_connection_string, cache_blob) == [ALICE]
    assert stored_secrets(storage_connection_string, cache_blob, "RefreshToken") == set(idp.owners)
    container = blob_client(storage_connection_string, cache_blob).container_name
    service = BlobServiceClient.from_connection_string(storage_connection_string)
    assert service.get_container_client(container).get_container_properties().public_access is None
    assert_no_token(idp, out, err, caplog.text)


def test_signin_refuses_a_target_that_does_not_use_a_token_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = target_document(None) | {"auth": {"kind": "bearer_env", "env": "VIVA_GOALS_TOKEN"}}
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"targets": [document]}))

    assert signin_main(["goals", "--targets", str(targets)]) == 2
    assert "uses auth kind 'bearer_env'; signin is for kind msal_token_cache" in capsys.readouterr().err


def test_signin_refuses_a_cache_blob_in_the_exports_container(
    tmp_path: Path, storage_connection_string: str, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"targets": [target_document("exports/goals.json")]}))

    argv = ["goals", "--targets", str(targets), "--storage-connection-string", storage_connection_string]
    assert signin_main(argv) == 2
    assert "is in the exports container, which export consumers may read" in capsys.readouterr().err


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


# --- what a person has to fix -------------------------------------------------------------------------------


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


def test_an_unreachable_identity_provider_is_transient(storage_connection_string: str, cache_blob: str) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(UpstreamError) as caught:
        worker(storage_connection_string, cache_blob, LoopbackTransport(closed_port)).get_token()

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert f"identity provider {AUTHORITY_HOST}/{TENANT} is unreachable" in caught.value.message


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


# --- targets and wiring --------------------------------------------------------------------------------------


def test_a_token_cache_target_gets_defaults_and_a_cache_blob_named_after_it() -> None:
    auth = goals_target(None).to_input()["auth"]

    assert auth == {
        "kind": "msal_token_cache",
        "client_id": CLIENT_ID,
        "tenant_id": TENANT,
        "authority_host": AUTHORITY_HOST,
        "scopes": [SCOPE],
        "cache_blob": "token-caches/goals.json",
    }
    defaults = parse_targets(
        {
            "targets": [
                target_document(None)
                | {"auth": {"kind": "msal_token_cache", "client_id": CLIENT_ID, "tenant_id": "contoso.onmicrosoft.com"}}
            ]
        }
    )["goals"]
    assert isinstance(defaults.auth, MsalTokenCache)
    assert defaults.auth.authority_host == "https://login.microsoftonline.com"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client_id": "my-app"}, "auth.msal_token_cache.client_id"),
        ({"authority_host": "http://login.microsoftonline.com"}, "authority_host must be an https origin"),
        ({"authority_host": "https://login.microsoftonline.com/common"}, "authority_host must be an https origin"),
        ({"scopes": [SCOPE, "offline_access"]}, "must not list offline_access"),
        ({"scopes": []}, "non-empty list"),
        ({"cache_blob": "token-caches"}, "cache_blob must be '<container>/<blob name>'"),
        ({"cache_blob": "token-caches/../exports/x.json"}, "cache_blob must be"),
        ({"cache_blob": "Token_Caches/goals.json"}, "cache_blob must be"),
        ({"token": "abc"}, "auth.msal_token_cache.token"),
    ],
)
def test_a_token_cache_target_with_a_mistake_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    document = target_document(None)
    document["auth"] |= change

    with pytest.raises(TargetsError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_targets({"targets": [document]})


def test_token_provider_for_builds_one_delegated_provider_per_target_in_a_process(
    storage_connection_string: str, cache_blob: str
) -> None:
    env = {"EXPORTS_STORAGE_CONNECTION_STRING": storage_connection_string, "EXPORTS_CONTAINER": "exports"}
    target = goals_target(cache_blob).to_input()

    provider = token_provider_for(target, env)

    assert isinstance(provider, DelegatedTokenProvider)
    assert token_provider_for(target, env) is provider
    assert (provider.authority, provider.client_id, provider.scopes) == (
        f"{AUTHORITY_HOST}/{TENANT}",
        CLIENT_ID,
        [SCOPE],
    )
    assert provider.cache.ref == cache_blob


def test_token_provider_for_refuses_a_cache_blob_in_the_exports_container(storage_connection_string: str) -> None:
    env = {"EXPORTS_STORAGE_CONNECTION_STRING": storage_connection_string, "EXPORTS_CONTAINER": "goals-exports"}

    with pytest.raises(UpstreamError) as caught:
        token_provider_for(goals_target("goals-exports/goals.json").to_input(), env)

    assert caught.value.kind is ErrorKind.PERMANENT
    assert "is in the exports container" in caught.value.message
