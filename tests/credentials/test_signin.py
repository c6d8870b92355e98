"""`python -m credentials.signin`: the device code sign-in stores the account's cache in its private blob."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml
from azure.storage.blob import BlobServiceClient

from credentials.signin import signin_main
from tests.credentials.signed_in import assert_no_token, blob_client, stored_secrets, stored_users, target_document
from tests.support.identity_provider import ALICE, AUTHORITY_HOST, LoopbackTransport, StandInIdentityProvider

pytestmark = pytest.mark.integration


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
