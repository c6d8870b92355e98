"""`python -m credentials.signin TARGET --targets FILE`: sign a person in once, so scheduled runs can act for them.

Graph's Viva Goals export API takes delegated tokens only, and a timer cannot sign in. This command runs the
device code flow (it works from any terminal, also one without a browser, and never sees a password), then stores
MSAL's token cache in the target's private cache blob, replacing whatever was there: a new sign-in supersedes the
old one, and workers pick it up on their next token request. Runs then refresh tokens silently
(`credentials/delegated.py`) until the refresh token is refused, and that error tells the user to run this again.

It is an operator's tool of the production code, so it ships with it (`local/`, which the deployment leaves out,
keeps `python -m local signin` as an alias); the delegated credential names this command in its errors.

The verification URL and code go to stderr; stdout gets one line naming the account. No token is printed.
Exit codes: 0 signed in, 1 sign-in or storage failed, 2 bad targets file, target or auth kind, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from azure.core.exceptions import AzureError, ResourceExistsError

import app_settings
from credentials.msal_client import (
    IDP_UNREACHABLE,
    PUBLIC_CLIENT_DISABLED,
    consent_hint,
    describe,
    error_summary,
    needs_consent,
    public_client,
    public_client_hint,
)
from credentials.token_cache import BlobTokenCache, storage_error
from kernel.errors import ExportError
from sinks.storage_clients import StorageSettings
from targets import TargetsError, load_targets
from targets.model import MsalTokenCache

PROG = "python -m credentials.signin"
AZURITE_DEFAULT = "UseDevelopmentStorage=true"
CONNECTION_STRING = "EXPORTS_STORAGE_CONNECTION_STRING"
INTERRUPTED = 130  # the shell's code for a process ended by Ctrl-C


def signin_command(target: str) -> str:
    """The command a person runs to sign in (again) for `target`, as errors quote it."""
    return f"{PROG} {target} --targets <your targets file>"


class SigninError(Exception):
    """Sign-in did not complete; the message says why, without any token."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Sign in once (device code flow) for a target whose auth kind is msal_token_cache.",
    )
    parser.add_argument("target", help="name of the target in the targets file")
    parser.add_argument("--targets", type=Path, required=True, help="targets file (YAML or JSON)")
    parser.add_argument(
        "--storage-connection-string",
        help="export storage that keeps the token cache (default: $EXPORTS_STORAGE_CONNECTION_STRING, else "
        "$EXPORTS_BLOB_ACCOUNT_URL with your Azure sign-in, else Azurite on its default ports)",
    )
    return parser


def storage_settings(connection_string: str | None) -> StorageSettings:
    """The same storage the Function App uses: a connection string, else the account URL, else local Azurite."""
    env = dict(os.environ)
    if connection_string:
        env[CONNECTION_STRING] = connection_string
    elif not app_settings.get(CONNECTION_STRING, env) and not app_settings.get("EXPORTS_BLOB_ACCOUNT_URL", env):
        env[CONNECTION_STRING] = AZURITE_DEFAULT
    return StorageSettings.from_env(env)


def cache_for(name: str, auth: MsalTokenCache, storage: StorageSettings) -> BlobTokenCache:
    """The target's cache blob, in a private container of its own (created if missing)."""
    try:
        container_name, blob_name = auth.cache_location(name, storage.container)
    except ValueError as exc:
        raise TargetsError(str(exc)) from None
    container = storage.blob_service().get_container_client(container_name)
    try:
        with contextlib.suppress(ResourceExistsError):
            container.create_container()  # no public access: the refresh token must stay private
    except AzureError as exc:
        raise SigninError(
            storage_error(exc, "create the container of", f"{container_name}/{blob_name}").message
        ) from None
    return BlobTokenCache(container.get_blob_client(blob_name))


def _refusal(step: str, result: dict[str, Any], auth: MsalTokenCache) -> str:
    """What went wrong from MSAL's error codes only (its description is not repeated)."""
    code, codes = error_summary(result)
    what = describe(code, codes)
    if needs_consent(result):
        return (
            f"{step} failed because consent is missing ({what}); {consent_hint(auth.client_id, auth.requested_scopes)}"
        )
    if PUBLIC_CLIENT_DISABLED in codes:
        return f"{step} failed ({what}): {public_client_hint(auth.client_id)}"
    return f"{step} failed ({what}); look the code up in the Microsoft Entra error reference"


def sign_in(
    name: str, auth: MsalTokenCache, cache: BlobTokenCache, *, http_client: Any | None = None, out: TextIO
) -> str:
    """Run the device code flow for target `name`, store the new cache in its blob, return the account's username."""
    authority = auth.authority
    cache.cache.deserialize(None)  # start empty: the blob will hold exactly the account that signs in now
    try:
        app = public_client(auth.client_id, authority, cache.cache, http_client)
        flow = app.initiate_device_flow(scopes=list(auth.requested_scopes))
        if "user_code" not in flow:
            raise SigninError(_refusal("starting the device code sign-in", flow, auth))
        minutes = max(1, int(flow.get("expires_in", 900)) // 60)
        print(
            f"To sign in for target {name!r}, open {flow['verification_uri']} and enter the code "
            f"{flow['user_code']} (valid for {minutes} minutes). Use the work or school account whose access the "
            "scheduled exports should use.",
            file=out,
            flush=True,
        )
        result = app.acquire_token_by_device_flow(flow)
        if "access_token" not in result:
            raise SigninError(_refusal("sign-in", result, auth))
        accounts = app.get_accounts()
    except IDP_UNREACHABLE as exc:
        raise SigninError(f"identity provider {authority} is unreachable ({type(exc).__name__})") from None
    except ExportError as exc:
        raise SigninError(exc.message) from None
    if not accounts:
        raise SigninError("sign-in returned a token but no account; the scopes must allow an ID token")
    try:
        cache.replace()
    except ExportError as exc:
        raise SigninError(exc.message) from None
    return str(accounts[0].get("username") or accounts[0].get("home_account_id") or "the signed-in user")


def signin_main(argv: list[str], *, http_client: Any | None = None) -> int:
    """The command; `http_client` replaces MSAL's HTTP transport (tests point it at a stand-in)."""
    args = _parser().parse_args(argv)
    try:
        targets = load_targets(args.targets)
        if args.target not in targets:
            raise TargetsError(f"{args.targets.name}: no target named {args.target!r}; have {', '.join(targets)}")
        auth = targets[args.target].auth
        if not isinstance(auth, MsalTokenCache):
            raise TargetsError(
                f"target {args.target!r} uses auth kind {auth.kind!r}; signin is for kind msal_token_cache"
            )
        cache = cache_for(args.target, auth, storage_settings(args.storage_connection_string))
    except ValueError as exc:  # TargetsError is one; so is a storage setting that cannot be used
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SigninError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        username = sign_in(args.target, auth, cache, http_client=http_client, out=sys.stderr)
    except SigninError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: sign-in cancelled; the token cache was not changed", file=sys.stderr)
        return INTERRUPTED
    print(f"signed in as {username} for target {args.target!r}; token cache stored in blob {cache.ref}")
    return 0


if __name__ == "__main__":
    sys.exit(signin_main(sys.argv[1:]))
