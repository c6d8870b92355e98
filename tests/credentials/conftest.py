"""Fixtures of the credential tests: a stand-in identity provider, MSAL's transport to it, a cache blob of one's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.identity_provider import LoopbackTransport, StandInIdentityProvider, running_identity_provider


@pytest.fixture
def idp() -> Iterator[StandInIdentityProvider]:
    with running_identity_provider() as stand_in:
        yield stand_in


@pytest.fixture
def transport(idp: StandInIdentityProvider) -> LoopbackTransport:
    return LoopbackTransport(idp.port)


@pytest.fixture
def cache_blob() -> str:
    """A container of this test's own in Azurite, so tests never share a cache."""
    return f"tc-{uuid.uuid4().hex[:16]}/goals.json"
