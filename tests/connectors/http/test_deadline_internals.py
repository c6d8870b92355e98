"""The per-call deadline and the connect guard reach their transports, and fail loudly the day httpx keeps its backend
elsewhere.

`connectors/http/deadline.py` wraps httpcore's public network-backend interface, but sets it through httpx's private
attributes (there is no public way). These tests name those attributes, so an upgrade that moves them fails
here by name; and the lock, which is what Azure installs, pins both libraries exactly.
"""

from __future__ import annotations

from importlib import metadata

import httpcore
import httpx
import pytest
from packaging.utils import canonicalize_name

from connectors.http.backends import NetworkBackendUnreachable
from connectors.http.connect_guard import guard_connections
from connectors.http.deadline import DeadlineNotEnforceable, enforce_deadlines
from connectors.http.transport import HttpSettings
from tests.infra.test_lock import locked


def backends(client: httpx.Client) -> list[object]:
    """The network backend of every transport of `client`, where this httpx keeps it."""
    transports = [client._transport, *client._mounts.values()]  # a NO_PROXY pattern mounts None: no transport
    return [transport._pool._network_backend for transport in transports if transport is not None]  # type: ignore[attr-defined]


def deadline_backend(backend: object) -> object:
    """The deadline's backend inside `backend`: the connect guard (on direct transports) wraps it."""
    return getattr(backend, "_inner", backend) if type(backend).__name__ == "GuardedBackend" else backend


def test_every_transport_direct_and_proxied_gets_the_deadline() -> None:
    with HttpSettings(proxy="http://127.0.0.1:9").client() as client:
        wrapped = backends(client)
    assert len(wrapped) == 2
    assert all(type(deadline_backend(backend)).__name__ == "_Backend" for backend in wrapped), wrapped
    assert all(isinstance(backend, httpcore.NetworkBackend) for backend in wrapped)


def test_wrapping_twice_wraps_once() -> None:
    with HttpSettings().client() as client:
        (first,) = backends(enforce_deadlines(client))
        (again,) = backends(enforce_deadlines(client))
    assert first is again


def test_a_transport_whose_backend_cannot_be_reached_is_refused_rather_than_left_without_a_deadline() -> None:
    with (
        httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200))) as client,
        pytest.raises(DeadlineNotEnforceable, match=f"httpx {httpx.__version__} / httpcore {httpcore.__version__}"),
    ):
        enforce_deadlines(client)


@pytest.mark.parametrize("package", ["httpx", "httpcore"])
def test_the_libraries_whose_internals_the_deadline_uses_are_pinned_and_installed_as_pinned(package: str) -> None:
    assert str(locked()[canonicalize_name(package)]) == metadata.version(package)


def test_connections_whose_backend_cannot_be_reached_are_refused_rather_than_left_unchecked() -> None:
    with (
        httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200))) as client,
        pytest.raises(NetworkBackendUnreachable, match="check server-given destinations at connect time"),
    ):
        guard_connections(client)
