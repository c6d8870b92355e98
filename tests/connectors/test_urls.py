"""Where a token may go and what may be fetched: base URLs, origins, download locations, token endpoints, job ids."""

from __future__ import annotations

import pytest

from connectors.http.urls import check_base_url, check_download_url, same_origin
from connectors.registry import token_endpoint
from connectors.spec.engine import location_job_id
from kernel.errors import UpstreamError


def test_base_url_must_be_https_except_on_loopback() -> None:
    assert check_base_url("http://127.0.0.1:8080/beta/") == "http://127.0.0.1:8080/beta"
    with pytest.raises(ValueError, match="https"):
        check_base_url("http://graph.example.com/beta")


def test_token_goes_only_to_the_api_origin() -> None:
    api = "https://graph.microsoft.com/beta"
    assert same_origin("https://graph.microsoft.com:443/beta/x", api)
    assert not same_origin("https://storage.example.net/file?sig=1", api)
    assert not same_origin("http://graph.microsoft.com/beta/x", api)


def test_download_location_must_be_https_unless_loopback() -> None:
    assert check_download_url("http://127.0.0.1:9/x") == "http://127.0.0.1:9/x"
    with pytest.raises(UpstreamError, match="plain http"):
        check_download_url("http://storage.example.net/file")
    with pytest.raises(UpstreamError, match="credentials"):
        check_download_url("https://user:pw@storage.example.net/file")


def test_sailpoint_token_url_defaults_to_the_tenant_origin() -> None:
    assert (
        token_endpoint("sailpoint").url_for("https://acme.api.identitynow.com/v2025")
        == "https://acme.api.identitynow.com/oauth/token"
    )
    assert token_endpoint("sailpoint").url_for("http://127.0.0.1:9000/beta") == "http://127.0.0.1:9000/oauth/token"


def test_quoted_location_header_still_names_the_job() -> None:
    assert location_job_id('"https://graph.microsoft.com/beta/x/exportJobs/j!abc"') == "j!abc"
