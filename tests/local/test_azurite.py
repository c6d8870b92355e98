from __future__ import annotations

import pytest
from azure.storage.blob import BlobServiceClient

from local.azurite import Azurite


@pytest.mark.integration
def test_azurite_fixture_serves_blobs_on_loopback(azurite: Azurite) -> None:
    assert azurite.host == "127.0.0.1"
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.get_container_client("fixture-check")
    container.create_container()
    container.upload_blob("hello.txt", b"hello")
    assert container.download_blob("hello.txt").readall() == b"hello"
