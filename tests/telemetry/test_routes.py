from __future__ import annotations

import pytest

from telemetry.routes import recorded_url, route_template


@pytest.mark.parametrize(
    ("url", "template"),
    [
        (
            "https://graph.microsoft.com/beta/employeeExperience/goals/exportJobs/"
            "4d9c2f4e-4c8f-4f8b-9a52-1b2b3c4d5e6f/content",
            "/beta/employeeExperience/goals/exportJobs/{id}/content",
        ),
        (
            "https://acme.api.identitynow.com/v2025/sp-config/export/2c9180835d2e5168015d32f890ca1581",
            "/v2025/sp-config/export/{id}",
        ),
        (
            "https://acme.api.identitynow.com/v2025/sp-config/export/12345/download",
            "/v2025/sp-config/export/{id}/download",
        ),
        ("https://blob.example.net/c/sim-graph-token.csv?sig=abc&se=2030", "/c/{id}"),
        ("https://h/a/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig/b", "/a/{id}/b"),
        ("https://h/Bearer%20sim-graph-token/x", "/{id}/x"),
        ("https://h/aVeryLongOpaqueIdMadeOfLettersOnlyXyz", "/{id}"),
        ("not a url at all", "/{id}"),
    ],
)
def test_ids_and_queries_never_reach_the_route(url: str, template: str) -> None:
    assert route_template(url) == template


def test_a_recorded_url_is_origin_and_template_without_user_info_or_query() -> None:
    url = "https://user:pass@graph.microsoft.com:8443/beta/exportJobs/42?code=secret#frag"
    assert recorded_url(url) == "https://graph.microsoft.com:8443/beta/exportJobs/{id}"
