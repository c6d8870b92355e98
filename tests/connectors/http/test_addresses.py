"""One reading of a host, the way a connection reads it, and the address classes a server-given location may not
reach; the connect-time check on resolved addresses, with the resolver injected."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

import httpcore
import pytest

from connectors.http.addresses import (
    ALLOW_LOOPBACK,
    ALLOW_PRIVATE,
    AddressClass,
    IPAddress,
    host_class,
    server_given_refusal,
)
from connectors.http.connect_guard import GuardedBackend, checked_addresses, server_given
from kernel.errors import ErrorKind, UpstreamError

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f.1",
    "0177.0.0.1",
    "0",
    "0x7f000001",
    "127.000.000.001",
    "0x7F.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "localhost",
    "localhost.",
    "LOCALHOST",
    "api.localhost",
    "[::1]",
    "::1",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::ffff:0:0]",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_this_machine_is_loopback(host: str) -> None:
    assert host_class(host) is AddressClass.LOOPBACK


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("169.254.169.254", AddressClass.LINK_LOCAL),
        ("0xa9.0xfe.0xa9.0xfe", AddressClass.LINK_LOCAL),
        ("2852039166", AddressClass.LINK_LOCAL),  # 169.254.169.254 as one number
        ("[fe80::1]", AddressClass.LINK_LOCAL),
        ("168.63.129.16", AddressClass.LINK_LOCAL),  # Azure's wire server: a public range, never an export
        ("[fd00:ec2::254]", AddressClass.LINK_LOCAL),
        ("[::ffff:169.254.169.254]", AddressClass.LINK_LOCAL),
        ("10.0.0.7", AddressClass.PRIVATE),
        ("10.1", AddressClass.PRIVATE),
        ("172.16.0.1", AddressClass.PRIVATE),
        ("172.31.255.255", AddressClass.PRIVATE),
        ("192.168.1.1", AddressClass.PRIVATE),
        ("100.64.0.1", AddressClass.PRIVATE),
        ("[fc00::1]", AddressClass.PRIVATE),
        ("[fd12:3456::1]", AddressClass.PRIVATE),
        ("[::ffff:10.0.0.7]", AddressClass.PRIVATE),
        ("0.1.2.3", AddressClass.RESERVED),
        ("224.0.0.1", AddressClass.RESERVED),
        ("255.255.255.255", AddressClass.RESERVED),
        ("240.0.0.1", AddressClass.RESERVED),
        ("192.0.2.1", AddressClass.RESERVED),
        ("[ff02::1]", AddressClass.RESERVED),
        ("172.32.0.1", AddressClass.PUBLIC),
        ("8.8.8.8", AddressClass.PUBLIC),
        ("[2606:4700::1111]", AddressClass.PUBLIC),
        ("storage.example.net", None),
        ("0x7f.example", None),
        ("08.1.1.1", None),  # not an octal number: inet_aton refuses it, so it is a name
    ],
)
def test_hosts_are_classified_by_the_address_a_connection_would_use(host: str, kind: AddressClass | None) -> None:
    assert host_class(host) is kind


def test_loopback_follows_its_switch_and_private_ranges_follow_theirs() -> None:
    off: dict[str, str] = {ALLOW_LOOPBACK: "false"}
    assert server_given_refusal(AddressClass.LOOPBACK, off) is not None
    assert server_given_refusal(AddressClass.LOOPBACK, {ALLOW_LOOPBACK: "true"}) is None
    assert server_given_refusal(AddressClass.PRIVATE, off) is not None
    assert server_given_refusal(AddressClass.PRIVATE, {ALLOW_PRIVATE: "true"}) is None
    everything = {ALLOW_LOOPBACK: "true", ALLOW_PRIVATE: "true"}
    assert server_given_refusal(AddressClass.LINK_LOCAL, everything) is not None
    assert server_given_refusal(AddressClass.RESERVED, everything) is not None
    assert server_given_refusal(AddressClass.PUBLIC, off) is None
    assert server_given_refusal(None, off) is None  # a name: checked once resolved


def answering(*addresses: str) -> Any:
    def resolver(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in addresses]

    return resolver


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_LOOPBACK, "false")
    monkeypatch.setenv(ALLOW_PRIVATE, "false")


@pytest.mark.parametrize(
    "addresses",
    [
        ("10.0.0.7",),
        ("192.168.0.10",),
        ("169.254.169.254",),
        ("127.0.0.1",),
        ("::1",),
        ("::ffff:127.0.0.1",),
        ("fd00::1",),
        ("203.0.113.9", "10.0.0.7"),  # one bad answer among good ones refuses the name
    ],
)
def test_a_name_resolving_to_a_refused_address_is_permanent(production: None, addresses: tuple[str, ...]) -> None:
    with pytest.raises(UpstreamError) as caught:
        checked_addresses("files.example.net", 443, answering(*addresses))
    assert caught.value.kind is ErrorKind.PERMANENT
    assert "files.example.net resolves to" in caught.value.message


def test_a_name_resolving_to_public_addresses_is_accepted(production: None) -> None:
    found = checked_addresses("files.example.net", 443, answering("8.8.8.8", "2606:4700::1111"))
    assert [str(a) for a in found] == ["8.8.8.8", "2606:4700::1111"]


def test_a_private_name_is_accepted_when_private_upstreams_are_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE, "true")
    assert [str(a) for a in checked_addresses("files.corp", 443, answering("10.0.0.7"))] == ["10.0.0.7"]


def test_a_name_that_does_not_resolve_is_a_transient_connect_error(production: None) -> None:
    def failing(host: str, port: int) -> list[IPAddress]:
        raise OSError("temporary failure in name resolution")

    with pytest.raises(httpcore.ConnectError):
        checked_addresses("files.example.net", 443, failing)


class Recording(httpcore.NetworkBackend):
    """A backend that records where it was asked to connect, and fails for the addresses it is told to."""

    def __init__(self, unreachable: Iterable[str] = ()) -> None:
        self.asked: list[str] = []
        self.unreachable = set(unreachable)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        self.asked.append(host)
        if host in self.unreachable:
            raise httpcore.ConnectError("unreachable")
        return httpcore.MockStream([])


def test_the_backend_connects_to_the_address_it_checked(production: None) -> None:
    inner = Recording(unreachable={"2606:4700::1111"})
    backend = GuardedBackend(inner, answering("2606:4700::1111", "8.8.8.8"))
    with server_given():
        backend.connect_tcp("files.example.net", 443)
    assert inner.asked == ["2606:4700::1111", "8.8.8.8"]  # the next checked address, never the name again


def test_the_backend_refuses_before_connecting(production: None) -> None:
    inner = Recording()
    backend = GuardedBackend(inner, answering("169.254.169.254"))
    with server_given(), pytest.raises(UpstreamError):
        backend.connect_tcp("metadata.example.net", 80)
    assert inner.asked == []


def test_the_backend_leaves_the_configured_origin_to_the_socket_layer(production: None) -> None:
    inner = Recording()
    GuardedBackend(inner, answering("10.0.0.7")).connect_tcp("api.corp", 443)
    assert inner.asked == ["api.corp"]
