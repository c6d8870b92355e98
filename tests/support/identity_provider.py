"""A stand-in for Microsoft Entra ID on loopback, so MSAL runs unmodified and nothing leaves the machine.

MSAL accepts only https authorities, so its HTTP transport is swapped for `LoopbackTransport`, which sends every
request for the made-up authority host (a reserved `.test` name, which never resolves) to the stand-in over real
HTTP, and fails the test on any other host. The stand-in answers what MSAL asks: the OpenID configuration,
device codes and the token endpoint (device code and refresh token grants), with rotating refresh tokens.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

import requests

from tests.support.loopback_server import loopback_server

AUTHORITY_HOST = "https://login.idp.test"
TENANT = "3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
CLIENT_ID = "7d9e1f2a-3b4c-4d5e-9f6a-7b8c9d0e1f2a"
SCOPE = "https://graph.microsoft.com/Goals-Export.ReadWrite.All"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ALICE, BOB = "alice@contoso.example", "bob@contoso.example"
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
        self.port = 0  # set when it is served

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
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": f"{AUTHORITY_HOST}/device",
                "expires_in": 900,
                "interval": 1,
                "message": f"enter {user_code} at {AUTHORITY_HOST}/device",
            }
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
                "error": "invalid_grant",
                "error_codes": [50173],
                "error_description": f"AADSTS50173: {REVOKED}",
            }
        if self.consent_withdrawn:
            return 400, {
                "error": "invalid_grant",
                "error_codes": [65001],
                "suberror": "consent_required",
                "error_description": "AADSTS65001: The user or administrator has not consented to use the application.",
            }
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
            "aud": CLIENT_ID,
            "iss": f"{AUTHORITY_HOST}/{TENANT}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "oid": oid,
            "sub": oid,
            "tid": TENANT,
            "preferred_username": user,
            "name": user,
            "ver": "2.0",
        }
        return {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": self.access_token_lifetime,
            "ext_expires_in": self.access_token_lifetime,
            "access_token": access_token,
            "refresh_token": refresh_token,
            "id_token": f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}.",
            "client_info": b64url({"uid": oid, "utid": TENANT}),
        }

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


@contextmanager
def running_identity_provider() -> Iterator[StandInIdentityProvider]:
    stand_in = StandInIdentityProvider()
    with loopback_server(stand_in._handler(), name="stand-in-idp") as served:
        stand_in.port = served.port
        yield stand_in
