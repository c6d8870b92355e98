"""The real HTTP handlers, called with `azure.functions.HttpRequest` objects and a real durable client
whose calls to the host go over HTTP to a loopback fake of the host's management API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from orchestrators import names
from orchestrators.instance_ids import export_instance_id
from targets import Target, parse_targets
from tests.triggers.fake_durable_host import LOOP, FakeHost, fake_durable_host
from triggers import configured_targets, http_api
from triggers.schedule_tick import SCHEDULER_INSTANCE
from triggers.start_request import request_instance_id, webhook_run_key

ORG, VIEW = "9ab0fcab-c1d4-4b26-963b-a3c33155f853", "2c8b5fd3-67c3-4677-8eb3-e0066c4d2fd7"
OTHER_VIEW = "5d1c3e0a-7f7e-4a53-9b0e-0d9e4c1f2a3b"
GOALS: dict[str, Any] = {
    "name": "goals",
    "connector": "viva_goals",
    "base_url": "https://graph.microsoft.com/beta",
    "params": {"goals_organization_id": ORG, "explorer_view_id": VIEW},
    "auth": {"kind": "bearer_env", "env": "GRAPH_TOKEN"},
}
SAILPOINT: dict[str, Any] = {
    "name": "spconfig",
    "connector": "sailpoint",
    "base_url": "https://acme.api.identitynow.com/v2025",
    "auth": {"kind": "client_credentials_env", "client_id_env": "SP_ID", "client_secret_env": "SP_SECRET"},
}
OKRS_AUTH: dict[str, Any] = {"kind": "msal_token_cache", "client_id": ORG, "tenant_id": "contoso.onmicrosoft.com"}
OKRS = {**GOALS, "name": "okrs", "auth": OKRS_AUTH}
EXPORTS_URL = "https://app.example.net/api/exports"


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHost]:
    known: dict[str, Target] = parse_targets({"targets": [GOALS, SAILPOINT, OKRS]})
    monkeypatch.setattr(http_api, "configured_targets", lambda: known)
    with fake_durable_host() as fake:
        yield fake


def request(
    body: Any, headers: dict[str, str] | None = None, method: str = "POST", url: str = EXPORTS_URL, **route: str
) -> func.HttpRequest:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.HttpRequest(method, url, headers=headers or {}, body=data, route_params=route)


def start(
    host: FakeHost, body: Any, headers: dict[str, str] | None = None, url: str = EXPORTS_URL
) -> func.HttpResponse:
    return LOOP.run_until_complete(http_api.start_export(request(body, headers, url=url), host.client()))


def status_of(host: FakeHost, instance_id: str) -> func.HttpResponse:
    get = request(b"", method="GET", instance_id=instance_id)
    return LOOP.run_until_complete(http_api.export_status(get, host.client()))


def cancel(host: FakeHost, instance_id: str) -> func.HttpResponse:
    return LOOP.run_until_complete(http_api.cancel_export(request(b"", instance_id=instance_id), host.client()))


def problem_of(response: func.HttpResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem: dict[str, Any] = json.loads(response.get_body())
    assert problem["status"] == status
    return problem


def started_id(response: func.HttpResponse) -> str:
    assert response.status_code == 202
    return str(json.loads(response.get_body())["id"])


# -- starting ---------------------------------------------------------------------------------------


def test_start_by_name_answers_202_with_the_apps_own_status_and_cancel_urls_only(host: FakeHost) -> None:
    response = start(host, {"target": "goals"}, url=f"{EXPORTS_URL}?code=function-key-value")
    (name, instance_id, payload) = host.started[0]
    assert (name, payload["target"]["name"]) == (names.EXPORT_ORCHESTRATION, "goals")
    body = json.loads(response.get_body())
    assert body == {
        "id": instance_id,
        "statusUri": f"{EXPORTS_URL}/{instance_id}",
        "cancelUri": f"{EXPORTS_URL}/{instance_id}/cancel",
    }
    assert response.headers["Location"] == body["statusUri"]
    text = response.get_body().decode() + json.dumps(dict(response.headers))
    assert "runtime/webhooks" not in text
    assert "code=" not in text


def test_a_request_may_replace_the_params_of_a_configured_target_and_nothing_else(host: FakeHost) -> None:
    params = {"goals_organization_id": ORG, "explorer_view_id": OTHER_VIEW}
    started_id(start(host, {"target": {"name": "goals", "params": params}}))
    target = host.started[0][2]["target"]
    assert target["params"] == params
    assert (target["base_url"], target["auth"]) == (GOALS["base_url"], GOALS["auth"])


def test_an_object_naming_a_configured_target_without_params_runs_it_as_configured(host: FakeHost) -> None:
    started_id(start(host, {"target": {"name": "spconfig"}}))
    assert host.started[0][2]["target"]["auth"] == {**SAILPOINT["auth"], "token_url": None}


@pytest.mark.parametrize(
    ("target", "field"),
    [
        pytest.param({**GOALS, "base_url": "https://collector.example.org/beta"}, "target.base_url", id="base_url"),
        pytest.param({**GOALS, "auth": {"kind": "bearer_env", "env": "SP_SECRET"}}, "target.auth", id="bearer_env"),
        pytest.param(
            {**SAILPOINT, "auth": {**SAILPOINT["auth"], "token_url": "http://collector.example.org/oauth/token"}},
            "target.auth",
            id="token_url",
        ),
        pytest.param(
            {**OKRS, "auth": {**OKRS_AUTH, "cache_blob": "token-caches/goals-admin.json"}},
            "target.auth",
            id="cache_blob",
        ),
        pytest.param(
            {**OKRS, "auth": {**OKRS_AUTH, "scopes": ["https://graph.microsoft.com/Mail.Read"]}},
            "target.auth",
            id="scopes",
        ),
        pytest.param({**GOALS, "name": "mine"}, "target.auth", id="a-whole-new-target"),
        pytest.param({"name": "goals", "poll": {"deadline_s": 60}}, "target.poll", id="poll"),
        pytest.param({"name": "goals", "poll": {"floor_s": 1e-9}}, "target.poll", id="poll-floor"),
    ],
)
def test_a_request_cannot_choose_where_a_credential_goes_or_which_one(
    host: FakeHost, target: dict[str, Any], field: str
) -> None:
    problem = problem_of(start(host, {"target": target}), 400)
    assert field in problem["detail"]
    assert "come only from the targets file" in problem["detail"]
    assert host.started == []


def test_same_idempotency_key_never_starts_a_second_export(host: FakeHost) -> None:
    first = start(host, {"target": "goals"}, {"Idempotency-Key": "abc-1"})
    second = start(host, {"target": {"name": "goals"}}, {"Idempotency-Key": "abc-1"})  # the same export
    assert started_id(first) == started_id(second)
    assert len(host.started) == 1


def test_an_idempotency_key_reused_with_other_params_is_a_409_problem(host: FakeHost) -> None:
    instance_id = started_id(start(host, {"target": "goals"}, {"Idempotency-Key": "abc-1"}))
    other = {"target": {"name": "goals", "params": {"goals_organization_id": ORG, "explorer_view_id": OTHER_VIEW}}}
    problem = problem_of(start(host, other, {"Idempotency-Key": "abc-1"}), 409)
    assert instance_id in problem["detail"]
    assert "different target or params" in problem["detail"]
    assert len(host.started) == 1


def test_an_idempotency_key_cannot_name_a_schedule_slots_run(host: FakeHost) -> None:
    """A slot's run key is its ISO time; a caller sending that as its key must not start (and so pre-empt) it."""
    slot = "2026-11-23T00:00:00Z"
    started = started_id(start(host, {"target": "goals"}, {"Idempotency-Key": slot}))
    assert started != export_instance_id("goals", slot)
    assert started == request_instance_id(webhook_run_key(slot))
    assert host.started[0][2]["run_key"] == webhook_run_key(slot)


def test_an_idempotency_key_reused_for_another_target_is_a_409_problem(host: FakeHost) -> None:
    """One key names one export, whatever the target: a second target with the key starts nothing."""
    goals = started_id(start(host, {"target": "goals"}, {"Idempotency-Key": "abc-1"}))
    problem = problem_of(start(host, {"target": "spconfig"}, {"Idempotency-Key": "abc-1"}), 409)
    assert goals in problem["detail"]
    assert "different target or params" in problem["detail"]
    assert [payload["target"]["name"] for _, _, payload in host.started] == ["goals"]
    assert started_id(start(host, {"target": "goals"}, {"Idempotency-Key": "abc-1"})) == goals  # still the same


def test_an_idempotency_key_of_a_finished_export_is_not_lent_to_another_target(host: FakeHost) -> None:
    instance_id = started_id(start(host, {"target": "goals"}, {"Idempotency-Key": "done-1"}))
    host.instances[instance_id]["runtimeStatus"] = "Completed"
    problem_of(start(host, {"target": "okrs"}, {"Idempotency-Key": "done-1"}), 409)
    assert len(host.started) == 1


def test_requests_without_an_idempotency_key_are_separate_exports(host: FakeHost) -> None:
    first, second = (started_id(start(host, {"target": "goals"})) for _ in range(2))
    assert first != second
    assert len(host.started) == 2


def client_that_read_before_the_winner_started(host: FakeHost, instance_id: str) -> df.DurableOrchestrationClient:
    """A real client whose first status read is the one it made before another request started the instance:
    the check-then-start race, made deterministic by replaying that real (404) answer once."""
    loser = host.client()
    early_reads = [LOOP.run_until_complete(loser.get_status(instance_id, show_input=True))]
    real_get_status = loser.get_status

    async def get_status(instance: str, **options: Any) -> Any:
        return early_reads.pop() if early_reads else await real_get_status(instance, **options)

    setattr(loser, "get_status", get_status)  # noqa: B010 - replacing one bound method of one instance
    return loser


def test_the_loser_of_a_check_then_start_race_answers_with_the_winners_instance(host: FakeHost) -> None:
    """Both requests read "no instance" before either starts; the host refuses the second start
    (overridableExistingInstanceStates: NonRunningStates) and the loser answers 202 with the same id."""
    key = {"Idempotency-Key": "race-1"}
    instance_id = request_instance_id(webhook_run_key("race-1"))
    loser = client_that_read_before_the_winner_started(host, instance_id)
    assert started_id(start(host, {"target": "goals"}, key)) == instance_id
    response = LOOP.run_until_complete(http_api.start_export(request({"target": "goals"}, key), loser))
    assert started_id(response) == instance_id
    assert len(host.started) == 1


def test_a_race_lost_to_a_different_export_with_the_same_key_is_a_409(host: FakeHost) -> None:
    key = {"Idempotency-Key": "race-2"}
    loser = client_that_read_before_the_winner_started(host, request_instance_id(webhook_run_key("race-2")))
    started_id(start(host, {"target": "goals"}, key))
    other = {"target": {"name": "goals", "params": {"goals_organization_id": ORG, "explorer_view_id": OTHER_VIEW}}}
    problem_of(LOOP.run_until_complete(http_api.start_export(request(other, key), loser)), 409)
    assert len(host.started) == 1


def test_a_race_lost_to_another_target_with_the_same_key_is_a_409(host: FakeHost) -> None:
    """Both read "no instance" for the key; the host's refusal to start over a running instance decides."""
    key = {"Idempotency-Key": "race-3"}
    loser = client_that_read_before_the_winner_started(host, request_instance_id(webhook_run_key("race-3")))
    started_id(start(host, {"target": "goals"}, key))
    problem_of(LOOP.run_until_complete(http_api.start_export(request({"target": "spconfig"}, key), loser)), 409)
    assert len(host.started) == 1


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("abc-1\n", id="trailing-newline"),
        pytest.param("abc-1\r\n", id="trailing-crlf"),
        pytest.param("\nabc-1", id="leading-newline"),
        pytest.param("abc\n-1", id="inner-newline"),
        pytest.param("", id="empty"),
        pytest.param(" ", id="space"),
        pytest.param("a\tb", id="tab"),
        pytest.param("cl\u00e9", id="unicode"),
        pytest.param("\u0430bc-1", id="cyrillic-lookalike"),
        pytest.param("x" * 201, id="201-characters"),
        pytest.param("x" * 100_000, id="100000-characters"),
        pytest.param("abc\x7f", id="delete"),
        pytest.param("abc\x00", id="nul"),
    ],
)
def test_an_idempotency_key_that_is_not_wholly_visible_ascii_is_a_400(host: FakeHost, key: str) -> None:
    problem = problem_of(start(host, {"target": "goals"}, {"Idempotency-Key": key}), 400)
    assert problem["detail"] == "Idempotency-Key must be 1-200 visible ASCII characters"
    assert host.started == []


@pytest.mark.parametrize("key", ["x" * 200, "~!#$%&'*+-.^_`|", "a", "2026-11-22T00:00:00Z"])
def test_visible_ascii_keys_up_to_200_characters_are_accepted(host: FakeHost, key: str) -> None:
    instance_id = started_id(start(host, {"target": "goals"}, {"idempotency-key": key}))
    assert instance_id == request_instance_id(webhook_run_key(key))
    assert status_of(host, instance_id).status_code == 200  # the status route takes every id a key can make


@pytest.mark.parametrize(
    ("body", "headers", "detail"),
    [
        (b"{not json", {}, "body is not valid JSON"),
        (b"\xff\xfe", {}, "body is not valid JSON"),
        ([1, 2], {}, "body must be a JSON object"),
        ({"target": "nope"}, {}, "unknown target 'nope'; configured targets: goals, okrs, spconfig"),
        ({"target": {"name": "nope"}}, {}, "unknown target 'nope'"),
        ({"target": {"name": "goals", "params": {"goals_organization_id": "x"}}}, {}, "expected goals_organization_id"),
        ({"target": {"name": "spconfig", "params": {"include_types": ["WORKFLOWS"]}}}, {}, "unknown SP-Config type"),
        ({"target": "goals", "extra": 1}, {}, "unknown field(s): extra"),
        ({"target": 5}, {}, "'target' must be the name"),
        ({"target": "goals"}, {"Idempotency-Key": "has space"}, "Idempotency-Key must be"),
        (b"{" + b" " * 70_000 + b"}", {}, "the limit is 65536"),
        (b'{"target": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", {}, "nested more than 32 levels deep"),
        (b'{"target": {"name": "goals", "params": ' + b'{"a": ' * 40 + b"1" + b"}" * 42, {}, "nested more than"),
        (b'{"target": "goals",\n "target": "spconfig"}', {}, "duplicate key 'target' at line 2"),
    ],
)
def test_bad_requests_get_400_problem_json_and_start_nothing(
    host: FakeHost, body: Any, headers: dict[str, str], detail: str
) -> None:
    assert detail in problem_of(start(host, body, headers), 400)["detail"]
    assert host.started == []


HUGE_NUMBERS = [
    pytest.param(b'{"target": ' + b"9" * 60_000 + b"}", "a number of 60,000 digits", id="60000-digits"),
    pytest.param(b'{"target": -' + b"9" * 5_000 + b"}", "a number of 5,001 digits", id="5000-digits"),
    pytest.param(
        b'{"target": {"name": "spconfig", "params": {"include_types": [' + b"1" * 5000 + b"]}}}",
        "a number of 5,000 digits",
        id="in-params",
    ),
    pytest.param(b'{"target": 0.' + b"1" * 5_000 + b"}", "a number of 5,002 digits", id="long-fraction"),
    pytest.param(b'{"target": {"name": "goals", "params": {"x": 1e999}}}', "1e999 is not a finite number", id="1e999"),
    pytest.param(b'{"target": -1E400}', "-1E400 is not a finite number", id="-1E400"),
    pytest.param(b'{"target": NaN}', "NaN is not a finite number", id="NaN"),
    pytest.param(b'{"target": [-Infinity]}', "-Infinity is not a finite number", id="-Infinity"),
    pytest.param(b'{"target": "goals",\n "target": ' + b"9" * 5_000 + b"}", "digits", id="with-a-repeated-key"),
    pytest.param(b'{"target": ' + b"[" * 20_000 + b"1" + b"]" * 20_000 + b"}", "nested more than", id="deep-arrays"),
]


@pytest.mark.parametrize(("body", "detail"), HUGE_NUMBERS)
def test_a_number_no_parser_should_take_is_a_400_problem_never_a_500(host: FakeHost, body: bytes, detail: str) -> None:
    """A 60,000-digit number made Python's int conversion raise: a 500 where the caller's mistake is a 400."""
    problem = problem_of(start(host, body), 400)
    assert detail in problem["detail"]
    assert problem["detail"].count("\n") == 0
    assert host.started == []


# -- status and cancel ------------------------------------------------------------------------------


def test_status_reports_progress_and_unknown_instances_are_404(host: FakeHost) -> None:
    instance_id = started_id(start(host, {"target": "goals"}))
    progress = {
        "phase": "polling",
        "target": "goals",
        "job_id": "j1",
        "upstream_status": "running",
        "polls": 3,
        "next_poll_at": None,
        "bytes": None,
        "recreations": 0,
        "generation": 1,
        "deadline_at": "2026-03-01T08:00:00Z",
        "last_error": None,
    }  # what the orchestrator of the release before versions wrote: read, and shown as the current version
    host.instances[instance_id]["customStatus"] = progress
    found = status_of(host, instance_id)
    assert found.status_code == 200
    assert json.loads(found.get_body())["progress"] == {"schema_version": 2, **progress}
    problem_of(status_of(host, export_instance_id("goals", webhook_run_key("never-started"))), 404)


@pytest.mark.parametrize(
    "disguise",
    [
        pytest.param(lambda i: f"../instances/{i}", id="dot-dot"),
        pytest.param(lambda i: f"{i}?showHistory=true", id="query"),
        pytest.param(lambda i: f"{i}#fragment", id="fragment"),
        pytest.param(lambda i: f"x/../{i}", id="inner-dot-dot"),
        pytest.param(lambda i: f"{i}%2F", id="escaped-slash"),
    ],
)
def test_ids_the_app_never_makes_reach_no_instance(host: FakeHost, disguise: Any) -> None:
    instance_id = started_id(start(host, {"target": "goals"}))
    assert status_of(host, instance_id).status_code == 200
    problem_of(status_of(host, disguise(instance_id)), 404)
    problem_of(cancel(host, disguise(instance_id)), 404)
    assert host.terminated == []


def test_cancel_terminates_a_running_export_once(host: FakeHost) -> None:
    instance_id = started_id(start(host, {"target": "goals"}))
    assert cancel(host, instance_id).status_code == 202
    assert host.terminated == [(instance_id, "cancelled through the HTTP API")]
    problem_of(cancel(host, instance_id), 409)


@pytest.mark.parametrize(
    "instance_id",
    [SCHEDULER_INSTANCE, export_instance_id("goals", webhook_run_key("not-an-export"))],
    ids=["the-scheduler", "export-shaped-but-another-orchestration"],
)
def test_cancel_and_status_touch_export_orchestrations_only(host: FakeHost, instance_id: str) -> None:
    host.instances[instance_id] = {
        "name": names.SCHEDULED_EXPORTS_ORCHESTRATION,
        "instanceId": instance_id,
        "runtimeStatus": "Running",
    }
    problem_of(cancel(host, instance_id), 404)
    problem_of(status_of(host, instance_id), 404)
    assert host.terminated == []


def test_configured_targets_come_from_the_targets_file_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"targets": [GOALS]}))
    monkeypatch.setenv("EXPORT_TARGETS_FILE", str(path))
    configured_targets.configured_targets.cache_clear()
    assert list(configured_targets.configured_targets()) == ["goals"]
    configured_targets.configured_targets.cache_clear()
