"""The create activity's look-up for its own job: best effort, and never another instance's job.

Real parts: the activity as the runner calls it, Azurite for claims and manifests, and over HTTP on 127.0.0.1
either the simulator (a faithful Graph) or the hostile upstream (a list that is refused, garbled, cut or slow).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import connectors.spec.engine as engine
from activities.export_activities import create_export_job, download_export, publish_export_event
from kernel.timestamps import CLOCK_SKEW
from local.simulator import GRAPH_FIXTURE_TOKEN, Simulator
from orchestrators.contracts import CreateJobRequest, DownloadRequest, JobAnswer, PublishRequest, TargetRef
from targets import Target
from tests.support import storage
from tests.support.hostile_upstream import GRAPH, Reply, Request, Scenario, graph_job, hostile_upstream
from tests.support.targets import VIEW, viva_raw

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]
FIRST, SECOND = "export-goals-first-0123456789ab", "export-goals-second-0123456789ab"


def create(base_url: str, instance_id: str, not_before: datetime | None = None) -> dict[str, Any]:
    moment = (not_before or datetime.now(UTC)).isoformat()
    request = CreateJobRequest(target=Target.from_input(viva_raw(base_url)), not_before=moment, instance_id=instance_id)
    return create_export_job(request.to_json())


def created(answer: dict[str, Any]) -> JobAnswer:
    assert "error" not in answer, answer
    return JobAnswer.from_json(answer)


# -- claims: never another live instance's job ------------------------------------------------------


def test_a_second_instance_does_not_adopt_a_finished_job_the_first_instance_polls(simulator: Simulator) -> None:
    first = created(create(simulator.graph_base_url, FIRST)).job
    simulator.finish(first.job_id)  # done upstream, not yet exported: the look-up would find it
    second = created(create(simulator.graph_base_url, SECOND))
    assert second.job.job_id != first.job_id
    assert not second.adopted
    assert simulator.stats.jobs_created["graph"] == 2


def test_a_resumed_instance_still_adopts_its_own_claimed_job(simulator: Simulator) -> None:
    first = created(create(simulator.graph_base_url, FIRST)).job
    simulator.finish(first.job_id)
    created(create(simulator.graph_base_url, SECOND))  # another instance runs meanwhile
    again = created(create(simulator.graph_base_url, FIRST))  # the first one's create, run again after a crash
    assert (again.job.job_id, again.adopted) == (first.job_id, True)
    assert simulator.stats.jobs_created["graph"] == 2


def test_a_released_claim_no_longer_hides_a_job_and_the_end_of_a_run_clears_it(simulator: Simulator) -> None:
    first = created(create(simulator.graph_base_url, FIRST)).job
    simulator.finish(first.job_id)
    assert [n for n in storage.blob_names() if "/claims/" in n] != []
    ref = TargetRef(name="goals", connector="viva_goals")
    publish_export_event(PublishRequest(target=ref, outcome="failed", instance_id=FIRST, job_id=None).to_json())
    assert [n for n in storage.blob_names() if "/claims/" in n] == []
    adopted = created(create(simulator.graph_base_url, SECOND))  # unclaimed, unexported, ours by time: adopted
    assert (adopted.job.job_id, adopted.adopted) == (first.job_id, True)


def test_a_download_clears_the_claim_and_an_exported_job_is_never_adopted(simulator: Simulator) -> None:
    first = created(create(simulator.graph_base_url, FIRST)).job
    simulator.finish(first.job_id)
    done = created(create(simulator.graph_base_url, FIRST)).job  # re-read as finished
    stored = download_export(
        DownloadRequest(
            target=Target.from_input(viva_raw(simulator.graph_base_url)), job=done, instance_id=FIRST
        ).to_json()
    )
    assert "error" not in stored, stored
    assert [n for n in storage.blob_names() if "/claims/" in n] == []
    later = created(create(simulator.graph_base_url, SECOND))
    assert later.job.job_id != first.job_id


def test_a_job_created_before_the_create_was_decided_less_the_skew_is_not_adopted(simulator: Simulator) -> None:
    first = created(create(simulator.graph_base_url, FIRST)).job
    simulator.finish(first.job_id)
    ref = TargetRef(name="goals", connector="viva_goals")
    publish_export_event(PublishRequest(target=ref, outcome="failed", instance_id=FIRST, job_id=None).to_json())
    decided = datetime.now(UTC) + CLOCK_SKEW + timedelta(seconds=5)
    later = created(create(simulator.graph_base_url, SECOND, not_before=decided))
    assert later.job.job_id != first.job_id


# -- best effort: a list that cannot be read never stops or delays the create --------------------------


def graph_with_list(list_reply: Scenario) -> Scenario:
    """A Graph whose POST creates a job and whose job list answers as `list_reply` does."""

    def scenario(request: Request, reply: Reply) -> None:
        if request.method == "POST":
            reply.json(201, graph_job("j!created", "notStarted"))
        elif request.path.startswith(GRAPH + "?"):
            list_reply(request, reply)
        else:
            reply.json(200, graph_job("j!created", "running"))

    return scenario


def status(code: int, message: str = "refused") -> Scenario:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(code, {"error": {"code": "x", "message": f"{message}; you sent {request.bearer}"}})

    return scenario


def raw(data: bytes) -> Scenario:
    def scenario(request: Request, reply: Reply) -> None:
        reply.head(200, {"Content-Type": "application/json", "Content-Length": str(len(data))})
        reply.write(data)

    return scenario


def cut(request: Request, reply: Reply) -> None:
    reply.head(200, {"Content-Type": "application/json", "Content-Length": "1000"})
    reply.write(b'{"value": [')
    reply.close()


def listing(*items: Any) -> Scenario:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(200, {"value": list(items)})

    return scenario


def of_view(job_id: Any = "j!old", **extra: Any) -> dict[str, Any]:
    return {
        **graph_job(job_id, "succeeded"),
        "createdDateTime": datetime.now(UTC).isoformat(),
        "explorerViewId": VIEW,
        **extra,
    }


LIST_FAULTS = {
    "400": status(400),
    "403": status(403, "Missing scope Goals-Export.Read.All"),
    "404": status(404),
    "500": status(500),
    "503-with-retry-after": status(503),
    "429": status(429),
    "not-json": raw(b"<html>proxy error</html>"),
    "json-but-not-a-list": raw(b'{"value": "nope"}'),
    "cut-mid-body": cut,
    "one-job-with-an-absurd-id": listing(of_view("j" * 10_000)),
    "one-job-with-an-unusable-location": listing(of_view(resourceLocation="http://127.0.0.1:1/a\x01b")),
    "one-job-echoing-the-token-in-its-id": listing(of_view(f"j!{GRAPH_FIXTURE_TOKEN}")),
    "one-job-without-an-id": listing(of_view(None)),
}


@pytest.mark.parametrize("fault", LIST_FAULTS)
def test_a_list_that_cannot_be_read_is_logged_once_and_the_job_is_created(
    fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with hostile_upstream(graph_with_list(LIST_FAULTS[fault])) as upstream:
        answer = created(create(upstream.graph_base_url, FIRST))
        lists = [r for r in upstream.requests if r.method == "GET" and r.path.startswith(GRAPH + "?")]
        posts = [r for r in upstream.requests if r.method == "POST"]
    assert (answer.job.job_id, answer.adopted) == ("j!created", False)
    assert (len(lists), len(posts)) == (1, 1)  # the list is not retried; the create is not held back
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if fault != "json-but-not-a-list":  # nothing to warn about: an empty list
        assert len(warnings) == 1, warnings
        assert len(warnings[0]) <= 600
    assert GRAPH_FIXTURE_TOKEN not in caplog.text


def test_a_malformed_job_is_skipped_and_a_readable_one_of_ours_is_still_adopted() -> None:
    with hostile_upstream(graph_with_list(listing(of_view("j" * 10_000), of_view("j!ours")))) as upstream:
        answer = created(create(upstream.graph_base_url, FIRST, datetime.now(UTC) - timedelta(minutes=1)))
        posts = [r for r in upstream.requests if r.method == "POST"]
    assert (answer.job.job_id, answer.adopted, posts) == ("j!ours", True, [])


def test_a_list_that_never_answers_delays_the_create_by_the_look_up_deadline_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "LOOKUP_DEADLINE_S", 0.5)

    def silent(request: Request, reply: Reply) -> None:
        time.sleep(3)

    with hostile_upstream(graph_with_list(silent)) as upstream:
        started = time.monotonic()
        answer = created(create(upstream.graph_base_url, FIRST))
        took = time.monotonic() - started
    assert answer.job.job_id == "j!created"
    assert took < 2.5, took
