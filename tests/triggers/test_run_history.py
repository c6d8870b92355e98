"""`GET /api/exports`: export runs newest first, filtered, paged, through the real Durable client and a fake host."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest

from orchestrators import names
from orchestrators.instance_ids import export_instance_id
from tests.triggers.fake_durable_host import LOOP, FakeHost, fake_durable_host
from triggers import http_api
from triggers.run_history import BadQuery, decode_token, encode_token, parse_query

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def host() -> Iterator[FakeHost]:
    with fake_durable_host() as fake:
        yield fake


def _progress(target: str, phase: str = "succeeded") -> dict[str, Any]:
    return {
        "phase": phase,
        "target": target,
        "job_id": "job-1",
        "upstream_status": "succeeded",
        "polls": 3,
        "next_poll_at": None,
        "bytes": 1234,
        "recreations": 0,
        "generation": 1,
        "deadline_at": "2026-12-05T00:00:00Z",
        "last_error": None,
    }


def _add(host: FakeHost, target: str, minutes_ago: int, status: str = "Completed", name: str = "") -> str:
    instance_id = export_instance_id(target, f"run-{minutes_ago}")
    host.instances[instance_id] = {
        "name": name or names.EXPORT_ORCHESTRATION,
        "instanceId": instance_id,
        "runtimeStatus": status,
        "createdTime": (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z"),
        "lastUpdatedTime": (NOW - timedelta(minutes=minutes_ago - 1)).isoformat().replace("+00:00", "Z"),
        "customStatus": _progress(target),
        "output": None,
    }
    return instance_id


def _list(host: FakeHost, **params: str) -> func.HttpResponse:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    request = func.HttpRequest("GET", f"https://app.example/api/exports?{query}", params=params, body=b"")
    return LOOP.run_until_complete(http_api.list_exports(request, host.client()))


def test_runs_are_listed_newest_first_with_the_status_endpoints_fields_and_paged(host: FakeHost) -> None:
    ids = [_add(host, "goals", minutes) for minutes in (30, 10, 20, 40, 50)]
    _add(host, "goals", 5, name=names.SCHEDULED_EXPORTS_ORCHESTRATION)  # not an export: never listed
    first = _list(host, top="2")
    assert first.status_code == 200
    body = json.loads(first.get_body())
    assert [r["instance_id"] for r in body["runs"]] == [ids[1], ids[2]]
    assert set(body["runs"][0]) >= {"instance_id", "runtime_status", "progress", "output", "created_time", "outcome"}
    assert body["runs"][0]["progress"]["bytes"] == 1234
    seen = [r["instance_id"] for r in body["runs"]]
    while body["continuation"]:
        body = json.loads(_list(host, top="2", continuation=body["continuation"]).get_body())
        seen += [r["instance_id"] for r in body["runs"]]
    assert seen == [ids[1], ids[2], ids[0], ids[3], ids[4]]


def test_runs_are_filtered_by_target_status_and_since(host: FakeHost) -> None:
    failed = _add(host, "goals", 10, status="Failed")
    _add(host, "goals", 20)
    _add(host, "spconfig", 15, status="Failed")
    old = _add(host, "goals", 60 * 24 * 3, status="Failed")
    body = json.loads(_list(host, target="goals", status="failed").get_body())
    assert [r["instance_id"] for r in body["runs"]] == [failed, old]
    assert body["runs"][0]["outcome"] == "failed"
    since = (NOW - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    body = json.loads(_list(host, target="goals", status="failed", since=since).get_body())
    assert [r["instance_id"] for r in body["runs"]] == [failed]


@pytest.mark.parametrize(
    ("params", "names_the"),
    [
        ({"target": "../etc"}, "target"),
        ({"status": "exploded"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2019-01-01T00:00:00Z"}, "since"),
        ({"top": "0"}, "top"),
        ({"top": "1e9"}, "top"),
        ({"continuation": "not-ours"}, "continuation"),
        ({"continuation": encode_token("2026-01-01T00:00:00Z", "../x")}, "continuation"),
        ({"continuation": "A" * 600}, "continuation"),
        ({"showInput": "true"}, "showInput"),
        ({"target": "x" * 5000}, "target"),
    ],
)
def test_a_bad_query_is_a_400_problem_naming_the_parameter(
    host: FakeHost, params: dict[str, str], names_the: str
) -> None:
    response = _list(host, **params)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert names_the in json.loads(response.get_body())["detail"]
    assert host.pages_served == 0  # refused before asking the host anything


def test_a_token_reads_back_as_written_and_a_duration_is_measured_back_from_now() -> None:
    instance_id = export_instance_id("goals", "k")
    assert decode_token(encode_token("2026-12-04T11:00:00Z", instance_id)) == ("2026-12-04T11:00:00Z", instance_id)
    assert parse_query({"since": "24h"}, NOW).since == NOW - timedelta(hours=24)
    assert parse_query({"status": "running,Failed"}).statuses == {
        "Running",
        "Pending",
        "ContinuedAsNew",
        "Suspended",
        "Failed",
    }
    with pytest.raises(BadQuery, match="since"):
        parse_query({"since": "400d"}, NOW)
