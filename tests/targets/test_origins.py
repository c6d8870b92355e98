"""Where a credential may go: https origins from the targets file; loopback only when local development says so."""

from __future__ import annotations

from typing import Any

import pytest

from activities.connections import connector_for
from kernel.errors import ConfigurationError, ErrorKind, ExportError
from targets import TargetsError, parse_targets
from targets.origins import ALLOW_LOOPBACK, check_origin_policy, loopback_allowed, reaches_this_machine

SAILPOINT: dict[str, Any] = {
    "name": "spconfig",
    "connector": "sailpoint",
    "base_url": "https://acme.api.identitynow.com/v2025",
    "params": {},
    "auth": {"kind": "client_credentials_env", "client_id_env": "SP_ID", "client_secret_env": "SP_SECRET"},
}
MSAL: dict[str, Any] = {
    "kind": "msal_token_cache",
    "client_id": "94a356ab-53d5-40e7-8a85-053d6d3b9eb3",
    "tenant_id": "contoso.com",
}


def sailpoint(**changes: Any) -> dict[str, Any]:
    return {**SAILPOINT, **changes}


def with_token_url(url: str) -> dict[str, Any]:
    return sailpoint(auth={**SAILPOINT["auth"], "token_url": url})


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_LOOPBACK, "false")


@pytest.mark.parametrize(
    ("target", "field"),
    [
        (sailpoint(base_url="http://127.0.0.1:8080/v2025"), "base_url"),
        (sailpoint(base_url="https://localhost/v2025"), "base_url"),
        (sailpoint(base_url="https://[::1]:8443/v2025"), "base_url"),
        (sailpoint(base_url="https://[::ffff:127.0.0.1]/v2025"), "base_url"),
        (sailpoint(base_url="https://0.0.0.0/v2025"), "base_url"),
        (with_token_url("http://127.0.0.1:9/oauth/token"), "token_url"),
        (sailpoint(auth={**MSAL, "authority_host": "https://localhost:8443"}), "authority_host"),
    ],
)
def test_loopback_origins_are_refused_outside_local_development(
    production: None, target: dict[str, Any], field: str
) -> None:
    with pytest.raises(TargetsError) as caught:
        parse_targets({"targets": [target]})
    assert field in str(caught.value)
    assert ALLOW_LOOPBACK in str(caught.value)


def test_loopback_origins_are_accepted_when_local_development_allows_them() -> None:
    target = with_token_url("http://127.0.0.1:9/oauth/token") | {"base_url": "http://127.0.0.1:9/v2025"}
    assert parse_targets({"targets": [target]})["spconfig"].base_url == "http://127.0.0.1:9/v2025"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://collector.example.org/oauth/token", "must use https"),
        ("https://user:pass@acme.api.identitynow.com/oauth/token", "must not carry credentials"),
        ("https://acme.api.identitynow.com/oauth/token?x=1", "must not carry credentials, a query"),
        ("ftp://acme.api.identitynow.com/oauth/token", "absolute http(s) URL"),
        ("/oauth/token", "absolute http(s) URL"),
    ],
)
def test_a_configured_token_url_is_https_without_credentials(url: str, message: str) -> None:
    with pytest.raises(TargetsError, match=r"auth\.client_credentials_env\.token_url") as caught:
        parse_targets({"targets": [with_token_url(url)]})
    assert message in str(caught.value)


def test_the_activity_refuses_a_loopback_upstream_that_skipped_validation(production: None) -> None:
    """Defence in depth: a target dict in an orchestration input is checked again where credentials are read."""
    env = {"SP_ID": "id", "SP_SECRET": "secret", ALLOW_LOOPBACK: "false"}
    for target in (sailpoint(base_url="http://127.0.0.1:9/v2025"), with_token_url("http://localhost:9/t")):
        with pytest.raises(ConfigurationError) as caught:
            connector_for(target, env)
        assert caught.value.kind is ErrorKind.PERMANENT
        assert ALLOW_LOOPBACK in str(caught.value)


@pytest.mark.parametrize(
    ("value", "allowed"), [("true", True), ("1", True), ("On", True), ("false", False), ("", False), ("no", False)]
)
def test_the_switch_reads_plain_words_and_defaults_to_off(value: str, allowed: bool) -> None:
    assert loopback_allowed({ALLOW_LOOPBACK: value}) is allowed
    assert loopback_allowed({}) is False
    assert check_origin_policy("https://example.org/x", "base_url", {}) == "https://example.org/x"


NUMERIC_LOOPBACK = [
    "127.1",
    "2130706433",
    "0x7f.1",
    "0",
    "0x7f000001",
    "127.000.000.001",
    "localhost.",
    "LOCALHOST",
    "[::ffff:7f00:1]",
    "[::]",
]


@pytest.mark.parametrize("host", NUMERIC_LOOPBACK)
@pytest.mark.parametrize("field", ["base_url", "token_url", "authority_host"])
def test_every_spelling_of_loopback_is_refused_outside_local_development(
    production: None, host: str, field: str
) -> None:
    """A connection reads `127.1`, `0x7f.1` or `2130706433` as 127.0.0.1 (inet_aton), so the switch does too."""
    target = {
        "base_url": sailpoint(base_url=f"https://{host}/v2025"),
        "token_url": with_token_url(f"https://{host}/oauth/token"),
        "authority_host": sailpoint(auth={**MSAL, "authority_host": f"https://{host}"}),
    }[field]
    with pytest.raises(TargetsError) as caught:
        parse_targets({"targets": [target]})
    assert field in str(caught.value)
    assert ALLOW_LOOPBACK in str(caught.value)


def test_an_octal_spelling_of_loopback_is_refused_as_loopback_and_as_unsendable(production: None) -> None:
    """`0177.0.0.1` is 127.0.0.1 to inet_aton; the HTTP client cannot even send to it. Refused either way."""
    assert reaches_this_machine("0177.0.0.1")
    with pytest.raises(TargetsError, match="base_url"):
        parse_targets({"targets": [sailpoint(base_url="https://0177.0.0.1/v2025")]})


@pytest.mark.parametrize("host", NUMERIC_LOOPBACK)
def test_the_activity_refuses_every_spelling_of_loopback_that_skipped_validation(production: None, host: str) -> None:
    env = {"SP_ID": "id", "SP_SECRET": "secret", ALLOW_LOOPBACK: "false"}
    with pytest.raises(ExportError) as caught:
        connector_for(sailpoint(base_url=f"https://{host}/v2025"), env)
    assert caught.value.kind is ErrorKind.PERMANENT
    assert ALLOW_LOOPBACK in str(caught.value)


@pytest.mark.parametrize(
    "host", ["xn--", "a" * 70 + ".example", "a..b", "\u2603\u200d.example", "files.example:99999", "[zz]"]
)
@pytest.mark.parametrize("field", ["base_url", "token_url", "authority_host"])
def test_a_configured_url_that_cannot_be_parsed_is_a_configuration_error(host: str, field: str) -> None:
    target = {
        "base_url": sailpoint(base_url=f"https://{host}/v2025"),
        "token_url": with_token_url(f"https://{host}/oauth/token"),
        "authority_host": sailpoint(auth={**MSAL, "authority_host": f"https://{host}"}),
    }[field]
    with pytest.raises(TargetsError, match=field):
        parse_targets({"targets": [target]})
