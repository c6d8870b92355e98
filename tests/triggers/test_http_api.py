"""The real HTTP handlers, called with `azure.functions.HttpRequest` objects and a real durable client
whose calls to the host go over HTTP to a loopback fake of the host's management API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest

from orchestrators import names
from targets import Target, parse_targets
from tests.triggers.fake_durable_host import LOOP, FakeHost, fake_durable_host
from triggers import configured_targets, http_api

GOALS = {
    "name": "goals",
    "connector": "viva_goals",
    "base_url": "https://graph.microsoft.com/beta",
    "params": {
        "goals_organization_id": "9ab0fcab-c1d4-4b26-963b-a3c33155f853",
        "explorer_view_id": "2c8b5fd3-67c3-4677-8eb3-e0066c4d2fd7",
    },
    "auth": {"kind": "bearer_env", "env": "GRAPH_TOKEN"},
}


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHost]:
    known: dict[str, Target] = parse_targets({"targets": [GOALS]})
    monkeypatch.setattr(http_api, "configured_targets", lambda: known)
    with fake_durable_host() as fake:
        yield fake


def request(body: Any, headers: dict[str, str] | None = None, method: str = "POST", **route: str) -> func.HttpRequest:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.HttpRequest(method, "https://app.example.net/api/exports", headers=headers or {}, body=data,
                            route_params=route)  # fmt: skip


def start(host: FakeHost, body: Any, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return LOOP.run_until_complete(http_api.start_export(request(body, headers), host.client()))


def test_start_by_name_answers_202_with_the_status_urls(host: FakeHost) -> None:
    response = start(host, {"target": "goals"})
    assert response.status_code == 202
    links = json.loads(response.get_body())
    (name, instance_id, payload) = host.started[0]
    assert name == names.EXPORT_ORCHESTRATION
    assert links["id"] == instance_id
    assert instance_id in links["statusQueryGetUri"]
    assert response.headers["Location"] == links["statusQueryGetUri"]
    assert payload["target"]["name"] == "goals"


def test_inline_target_is_validated_and_started(host: FakeHost) -> None:
    assert start(host, {"target": {**GOALS, "name": "inline"}}).status_code == 202
    assert host.started[0][2]["target"]["name"] == "inline"


def test_same_idempotency_key_never_starts_a_second_export(host: FakeHost) -> None:
    first = start(host, {"target": "goals"}, {"Idempotency-Key": "abc-1"})
    second = start(host, {"target": "goals"}, {"Idempotency-Key": "abc-1"})
    assert first.status_code == second.status_code == 202
    assert json.loads(first.get_body())["id"] == json.loads(second.get_body())["id"]
    assert len(host.started) == 1


@pytest.mark.parametrize(
    ("body", "headers", "detail"),
    [
        (b"{not json", {}, "body is not valid JSON"),
        ([1, 2], {}, "body must be a JSON object"),
        ({"target": "nope"}, {}, "unknown target 'nope'; configured targets: goals"),
        ({"target": {**GOALS, "connector": "salesforce"}}, {}, "unknown connector 'salesforce'"),
        ({"target": {**GOALS, "params": {"goals_organization_id": "x"}}}, {}, "expected goals_organization_id"),
        (
            {"target": {**GOALS, "connector": "sailpoint", "params": {"include_types": ["WORKFLOWS"]}}},
            {},
            "unknown SP-Config type(s) WORKFLOWS",
        ),
        ({"target": "goals", "extra": 1}, {}, "unknown field(s): extra"),
        ({"target": 5}, {}, "'target' must be the name"),
        ({"target": "goals"}, {"Idempotency-Key": "has space"}, "Idempotency-Key must be"),
        (b"{" + b" " * 70_000 + b"}", {}, "the limit is 65536"),
    ],
)
def test_bad_requests_get_400_problem_json_and_start_nothing(
    host: FakeHost, body: Any, headers: dict[str, str], detail: str
) -> None:
    response = start(host, body, headers)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = json.loads(response.get_body())
    assert problem["status"] == 400
    assert detail in problem["detail"]
    assert host.started == []


def test_status_reports_progress_and_unknown_instances_are_404(host: FakeHost) -> None:
    instance_id = json.loads(start(host, {"target": "goals"}).get_body())["id"]
    host.instances[instance_id]["customStatus"] = {"phase": "polling", "polls": 3}
    found = LOOP.run_until_complete(
        http_api.export_status(request(b"", method="GET", instance_id=instance_id), host.client())
    )
    assert found.status_code == 200
    assert json.loads(found.get_body())["progress"] == {"phase": "polling", "polls": 3}
    missing = LOOP.run_until_complete(
        http_api.export_status(request(b"", method="GET", instance_id="nope"), host.client())
    )
    assert missing.status_code == 404


def test_cancel_terminates_a_running_export_once(host: FakeHost) -> None:
    instance_id = json.loads(start(host, {"target": "goals"}).get_body())["id"]
    cancel = request(b"", instance_id=instance_id)
    assert LOOP.run_until_complete(http_api.cancel_export(cancel, host.client())).status_code == 202
    assert host.terminated == [(instance_id, "cancelled through the HTTP API")]
    assert LOOP.run_until_complete(http_api.cancel_export(cancel, host.client())).status_code == 409


def test_configured_targets_come_from_the_targets_file_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"targets": [GOALS]}))
    monkeypatch.setenv("EXPORT_TARGETS_FILE", str(path))
    configured_targets.configured_targets.cache_clear()
    assert list(configured_targets.configured_targets()) == ["goals"]
    configured_targets.configured_targets.cache_clear()
