"""The fault matrix: one end-to-end export per row, each under one fault, all held to the same promises.

Each row runs the production orchestrator and activities on the local runner
against the simulator over HTTP and Azurite, and injects one fault the real
services or the machine can produce. Whatever the fault, the pipeline promises
the same things to downstream readers, so every row is checked for all of
them by one function: no partial or orphan blob is ever visible, there is at
most one content blob per export, exactly one well-formed event is published
(unless the event sink itself is the fault), a successful run leaves no stale
error in its status, and a failed run leaves nothing under its target and says
why in its orchestration error and in the event. A row adds only what is
special about its fault. This file is the one home of end-to-end fault
scenarios; tests/orchestrators/test_export_end_to_end.py keeps the fault-free
behaviour.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient

import activities.result_store as result_store
from activities.export_activities import ACTIVITIES
from app_functions import ORCHESTRATORS
from local import azurite as azurite_mod
from local.cli import history_store, run_export
from local.runner import BlobHistoryStore, HistoryStore, LocalRunner, OrchestrationResult, RunnerEvent
from local.simulator import GRAPH_FIXTURE_TOKEN, Simulator
from orchestrators import names, poll_policy
from orchestrators.instance_ids import export_instance_id
from sinks.blob_writer import DEFAULT_BLOCK_SIZE, write_stream
from sinks.storage_clients import StorageSettings
from targets import Target
from tests.faults.conftest import RestartableAzurite
from tests.support import storage
from tests.support.content import expected_sha256
from tests.support.exports import run_with_poll
from tests.support.targets import (
    ORG,
    VIEW,
    cost_raw,
    intune_raw,
    powerbi_raw,
    sailpoint_target,
    salesforce_raw,
    target_of,
    viva_target,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]

SCALE = 0.001  # a 1200 s Retry-After waits 1.2 s of real time; the orchestration still sees 1200 s pass
Activity = Callable[[Any], Any]
CONTENT = re.compile(r"^(?P<target>[a-z0-9_-]+)/(?P<key>[^/]+)/(content|part-\d{5})\.(csv|json|bin)$")
SEEDS = {"viva_goals": "graph", "sailpoint": "sailpoint"}  # the connectors whose content the simulator fixes
MANIFEST = re.compile(r"^(?P<target>[a-z0-9_-]+)/(?P<key>[^/]+)/manifest\.json$")
LATEST = re.compile(r"^(?P<target>[a-z0-9_-]+)/latest\.json$")


class Crash(KeyboardInterrupt):
    """Ctrl-C arriving while an activity runs: the runner's process dies, nothing is recorded as a failure."""


@dataclass
class Trial:
    """One row's world: the simulator, activity overrides, and what the runner reported."""

    sim: Simulator
    request: pytest.FixtureRequest
    overrides: dict[str, Activity] = field(default_factory=dict)
    events: list[RunnerEvent] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def runner(self, store: HistoryStore | None = None, scale: float = SCALE) -> LocalRunner:
        activities = {name: self._counted(name, self.overrides.get(name, fn)) for name, fn in ACTIVITIES.items()}
        return LocalRunner(ORCHESTRATORS, activities, timer_scale=scale, on_event=self.events.append, store=store)

    def run(self, target: Target, *, key: str = "", runner: LocalRunner | None = None) -> OrchestrationResult:
        with runner or self.runner() as active:
            return run_export(target, run_key=key or uuid.uuid4().hex, timer_scale=SCALE, runner=active)

    def allow_transient_failures(self, count: int) -> None:
        """Give up after `count` transient failures in a row (a constant of the poll policy) for this row only."""
        monkeypatch: pytest.MonkeyPatch = self.request.getfixturevalue("monkeypatch")
        monkeypatch.setattr(poll_policy, "MAX_TRANSIENT_FAILURES", count)

    def last_errors(self) -> list[str | None]:
        """Every `last_error` the custom status reported, in order."""
        return [e.detail["status"].get("last_error") for e in self.events if e.kind == "custom_status"]

    def waits(self) -> list[float]:
        """The durable waits the orchestration asked for, unscaled, in order (not the SDK's retry timers)."""
        return [e.detail["seconds"] for e in self.events if e.kind == "timer_created" and not e.detail["retry"]]

    def failed_activities(self, name: str) -> list[str]:
        return [e.detail["reason"] for e in self.events if e.kind == "activity_failed" and e.detail["name"] == name]

    def _counted(self, name: str, fn: Activity) -> Activity:
        def counted(payload: Any) -> Any:
            with self._lock:
                self.calls[name] += 1
            return fn(payload)

        return counted


@dataclass(frozen=True)
class Outcome:
    result: OrchestrationResult
    target: Target
    fails_with: str | None = None  # None: the row must succeed; else a fragment of the reason it must give
    published: bool = True  # False only where the event sink is the fault: then no event, and the blob is kept


@pytest.fixture
def trial(simulator: Simulator, request: pytest.FixtureRequest) -> Trial:
    return Trial(simulator, request)


# -- the promises every row keeps -------------------------------------------------------------------


def assert_only_whole_blobs_with_manifests(target: str) -> list[str]:
    """Every visible content blob is exactly what its manifest says; nothing else lies around. Its names."""
    container = storage.container()
    listed = storage.blob_names()
    unexpected = [n for n in listed if not (CONTENT.match(n) or MANIFEST.match(n) or LATEST.match(n))]
    assert unexpected == [], f"blobs that are neither content, manifest nor latest.json: {unexpected}"
    contents = [n for n in listed if CONTENT.match(n)]
    manifests = {n.rsplit("/", 1)[0]: n for n in listed if MANIFEST.match(n)}
    for name in contents:
        folder = name.rsplit("/", 1)[0]
        assert folder in manifests, f"{name} has no manifest"
        manifest = storage.read_json(manifests[folder])
        described = {
            part["name"]: part for part in [*manifest["parts"], *([manifest["blob"]] if manifest["blob"] else [])]
        }
        assert name in described, f"{name} is not listed by its manifest"
        size = container.get_blob_client(name).get_blob_properties().size
        assert described[name]["size"] == size, f"{name}: manifest says {described[name]}"
        assert storage.blob_sha256(name) == described[name]["sha256"], f"{name} is not the blob its manifest describes"
    empty = [m for m in manifests.values() if storage.read_json(m).get("no_data")]
    orphans = [
        m for folder, m in manifests.items() if m not in empty and not any(c.startswith(folder + "/") for c in contents)
    ]
    assert orphans == [], f"manifests without a content blob: {orphans}"
    return [n for n in contents if n.startswith(f"{target}/")]


def assert_one_cloud_event(result: OrchestrationResult) -> dict[str, Any]:
    events = storage.events()
    assert len(events) == 1, f"expected exactly one event, got {len(events)}: {events}"
    event = events[0]
    assert event["specversion"] == "1.0"
    assert event["id"]
    assert event["source"]
    assert event["time"]
    assert event["data"]["instance_id"] == result.instance_id
    return event


def assert_promises_kept(outcome: Outcome, sim: Simulator) -> None:
    result, target = outcome.result, outcome.target
    contents = assert_only_whole_blobs_with_manifests(target.name)
    if not outcome.published:
        assert storage.events() == []
        assert result.status == "Failed"
        assert outcome.fails_with is not None
        assert outcome.fails_with in (result.error or ""), result.error
        assert len(contents) == 1, f"the exported blob is kept: {contents}"
        assert f"is stored as {contents[0]} " in (result.error or ""), result.error
        return
    event = assert_one_cloud_event(result)
    if outcome.fails_with is None:
        assert result.status == "Completed", result.error
        blob = result.output["blob"]
        manifest = storage.read_json(result.output["manifest"])
        if target.connector in SEEDS:
            api = SEEDS[target.connector]
            assert blob["sha256"] == expected_sha256(api, result.output["job_id"], sim.config.content_size)
            assert contents == [blob["name"]], f"one content blob for the export, got {contents}"
        else:  # one blob, or every part the manifest lists (in its order), or none for "no data"
            listed = [part["name"] for part in manifest["parts"]] or ([blob["name"]] if blob else [])
            assert sorted(contents) == sorted(listed), f"the export's blobs are its manifest's: {contents}"
            assert event["data"].get("parts", 1) == len(listed)
        assert storage.read_json(f"{target.name}/latest.json") == manifest
        assert (result.custom_status["phase"], result.custom_status["last_error"]) == ("succeeded", None)
        assert event["type"] == "com.exportpipeline.export.succeeded"
        assert event["data"]["blob"] == blob
    else:
        assert result.status == "Failed"
        assert outcome.fails_with in (result.error or ""), result.error
        left = [n for n in storage.blob_names() if n.startswith(f"{target.name}/")]
        assert left == [], f"a failed export left blobs (content, manifest or latest.json): {left}"
        assert event["type"] == "com.exportpipeline.export.failed"
        assert outcome.fails_with in (event["data"]["error"] or ""), event["data"]["error"]


# -- the rows ---------------------------------------------------------------------------------------


def throttled_with_escalating_retry_after(trial: Trial) -> Outcome:
    storm = [60, 300, 600, 1200]
    for seconds in storm:
        trial.sim.inject("graph.get", status=429, retry_after=seconds)
    target = viva_target(trial.sim)
    result = trial.run(target)
    waits = [round(w) for w in trial.waits()]
    assert storm in [waits[i : i + len(storm)] for i in range(len(waits))], f"waits were {waits}"
    assert [r.status for r in trial.sim.stats.requests_for("graph.get")].count(429) == len(storm)
    return Outcome(result, target)


def burst_of_server_errors(trial: Trial) -> Outcome:
    trial.sim.config.job_polls = 2
    trial.sim.inject("sp.create", status=500)
    trial.sim.inject("sp.status", status=503, count=3)
    trial.sim.inject("sp.download", status=502)
    target = sailpoint_target(trial.sim)
    result = trial.run(target)
    errors = Counter(r.status for r in trial.sim.stats.requests if r.status >= 500)
    assert errors == {500: 1, 503: 3, 502: 1}
    assert trial.sim.stats.jobs_created["sailpoint"] == 1
    reported = [e for e in trial.last_errors() if e]
    assert any("503" in e for e in reported), reported  # shown while it happened; the promises check it is gone
    return Outcome(result, target)


def connection_dropped_mid_download(trial: Trial) -> Outcome:
    trial.sim.config.content_size = DEFAULT_BLOCK_SIZE + 4 * 1024 * 1024
    trial.sim.inject("graph.content", drop_after_bytes=DEFAULT_BLOCK_SIZE + 1024 * 1024)  # one block was staged
    target = viva_target(trial.sim)
    result = trial.run(target)
    assert len(trial.sim.stats.requests_for("graph.content")) == 2
    return Outcome(result, target)


def azurite_restarted_during_upload(trial: Trial) -> Outcome:
    own: RestartableAzurite = trial.request.getfixturevalue("restartable_azurite")
    monkeypatch: pytest.MonkeyPatch = trial.request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("EXPORTS_STORAGE_CONNECTION_STRING", own.azurite.connection_string)
    azurite_mod.provision(StorageSettings.from_env())
    # The SDK's own retries wait 15 s and more before each new attempt; without them the first refused
    # request fails the activity, and recovering is up to the orchestration's retry of the download.
    monkeypatch.setattr(StorageSettings, "blob_service", without_sdk_retries)
    staged_at_stop: list[int] = []

    def write_stream_cut_by_an_outage(container: ContainerClient, blob_name: str, chunks: Any, **kw: Any) -> Any:
        def chunks_until_outage() -> Iterator[bytes]:
            passed = 0
            for chunk in chunks:
                if own.stops == 0 and passed >= DEFAULT_BLOCK_SIZE:  # the first block is on its way
                    staged_at_stop.append(first_block_staged(container.get_blob_client(blob_name)))
                    own.stop()
                passed += len(chunk)
                yield chunk

        return write_stream(container, blob_name, chunks_until_outage(), **kw)

    def download_then_restart(payload: Any) -> Any:
        try:
            return ACTIVITIES[names.DOWNLOAD](payload)
        finally:
            if own.stops > own.restarts:
                own.restart()

    monkeypatch.setattr(result_store, "write_stream", write_stream_cut_by_an_outage)
    trial.overrides[names.DOWNLOAD] = download_then_restart
    trial.sim.config.content_size = DEFAULT_BLOCK_SIZE + 4 * 1024 * 1024
    target = viva_target(trial.sim)
    result = trial.run(target)
    assert (own.stops, own.restarts, own.running) == (1, 1, True)
    assert staged_at_stop == [1]
    assert trial.failed_activities(names.DOWNLOAD) == []  # the outage is classified, not an activity crash
    reported = [e.detail["status"].get("last_error") or "" for e in trial.events if e.kind == "custom_status"]
    assert any(r.startswith("storage error: Blob Storage: ") for r in reported), reported
    assert not any("upstream" in r for r in reported), reported
    assert result.custom_status["last_error"] is None  # cleared once the download succeeded
    assert trial.calls[names.DOWNLOAD] == 2
    return Outcome(result, target)


def first_block_staged(blob: Any) -> int:
    """Blocks staged once the first one has landed (blocks are staged in the background), or after 30 s."""
    for _ in range(300):
        with contextlib.suppress(ResourceNotFoundError):  # no block at all yet: the blob is not known
            _, uncommitted = blob.get_block_list("uncommitted")
            if uncommitted:
                return len(uncommitted)
        time.sleep(0.1)
    return 0


def without_sdk_retries(settings: StorageSettings) -> BlobServiceClient:
    assert settings.connection_string
    return BlobServiceClient.from_connection_string(settings.connection_string, retry_total=0)


def sailpoint_token_expired_mid_poll(trial: Trial) -> Outcome:
    trial.sim.config.job_polls = 3
    tokens_at_expiry: list[int] = []

    def check_after_expiry(payload: Any) -> Any:
        if trial.calls[names.CHECK_JOB] == 2:  # the first poll used the cached token; now it expires
            trial.sim.expire_sailpoint_tokens()
            tokens_at_expiry.append(len(trial.sim.stats.requests_for("sp.token")))
        return ACTIVITIES[names.CHECK_JOB](payload)

    trial.overrides[names.CHECK_JOB] = check_after_expiry
    target = sailpoint_target(trial.sim)
    result = trial.run(target)
    assert len(tokens_at_expiry) == 1
    assert len(trial.sim.stats.requests_for("sp.token")) == tokens_at_expiry[0] + 1  # refreshed once
    statuses = [r.status for r in trial.sim.stats.requests_for("sp.status")]
    assert statuses.count(401) == 1, statuses
    assert statuses[statuses.index(401) + 1] == 200  # the same poll, retried with the new token
    return Outcome(result, target)


def job_stuck_until_the_deadline(trial: Trial) -> Outcome:
    trial.sim.config.never_finish = True
    trial.sim.config.retry_after_s = 30
    target = viva_target(trial.sim, deadline_s=300)
    result = trial.run(target)
    assert 300 / 30 <= trial.sim.stats.polls(result.custom_status["job_id"]) <= 300 / 30 + 1
    waits = trial.waits()
    assert max(waits) <= 30
    assert 300 - 30 < sum(waits) <= 300.001  # the last wait is cut short so that no wait runs past the deadline
    return Outcome(result, target, fails_with="deadline of 300 s passed after")


def job_failed_then_recreated(trial: Trial) -> Outcome:
    trial.sim.config.fail_jobs = 1
    target = sailpoint_target(trial.sim)
    result = trial.run(target)
    assert result.output["recreations"] == 1
    assert trial.sim.stats.jobs_created["sailpoint"] == 2
    return Outcome(result, target)


def failing_past_the_recreation_limit(trial: Trial, target: Target, api: str, upstream_reason: str) -> Outcome:
    trial.sim.config.fail_jobs = 5
    result = trial.run(target)
    assert trial.sim.stats.jobs_created[api] == 2
    assert trial.calls[names.DOWNLOAD] == 0
    return Outcome(result, target, fails_with=upstream_reason)


def graph_job_failing_past_the_recreation_limit(trial: Trial) -> Outcome:
    target = viva_target(trial.sim, max_recreations=1)
    return failing_past_the_recreation_limit(trial, target, "graph", "objectives that were deleted during the export")


def sailpoint_job_failing_past_the_recreation_limit(trial: Trial) -> Outcome:
    target = sailpoint_target(trial.sim, max_recreations=1)
    return failing_past_the_recreation_limit(trial, target, "sailpoint", "java.lang.IllegalStateException")


def result_expired_before_download(trial: Trial) -> Outcome:
    expired: list[str] = []

    def download_after_expiry(payload: Any) -> Any:
        if not expired:
            expired.append(payload["job"]["job_id"])
            trial.sim.expire(expired[0])
        return ACTIVITIES[names.DOWNLOAD](payload)

    trial.overrides[names.DOWNLOAD] = download_after_expiry
    target = viva_target(trial.sim)
    result = trial.run(target)
    assert result.output["recreations"] == 1
    assert result.output["job_id"] != expired[0]
    assert trial.sim.stats.jobs_created["graph"] == 2
    return Outcome(result, target)


def duplicate_trigger(trial: Trial) -> Outcome:
    target = viva_target(trial.sim)
    first = trial.run(target, key="nightly-1", runner=trial.runner(history_store("azurite")))
    calls_after_first = sum(trial.calls.values())
    second = trial.run(target, key="nightly-1", runner=trial.runner(history_store("azurite")))
    assert second.instance_id == first.instance_id
    assert (second.status, second.output) == (first.status, first.output)
    assert sum(trial.calls.values()) == calls_after_first  # the second trigger ran nothing
    assert trial.sim.stats.jobs_created["graph"] == 1
    return Outcome(second, target)


def runner_crash_then_resume_from_azurite(trial: Trial) -> Outcome:
    trial.sim.config.content_size = 256 * 1024
    trial.sim.config.job_polls = 2
    crashed: list[str] = []

    def download_then_die(payload: Any) -> Any:
        answer = ACTIVITIES[names.DOWNLOAD](payload)  # committed, but the history will never know
        if not crashed:
            crashed.append(payload["job"]["job_id"])
            raise Crash
        return answer

    trial.overrides[names.DOWNLOAD] = download_then_die
    target, key = viva_target(trial.sim), uuid.uuid4().hex
    dying = history_store("azurite")
    with pytest.raises(Crash):
        trial.run(target, key=key, runner=trial.runner(dying))
    dying.close()  # the CLI releases its leases on the way out; a process killed outright: tests/local/test_cli.py
    before = dict(trial.calls)
    assert before == {names.CREATE_JOB: 1, names.CHECK_JOB: 2, names.DOWNLOAD: 1}

    store = history_store("azurite")
    assert isinstance(store, BlobHistoryStore)  # a new store, reading what the dead runner saved in Azurite
    saved = store.load(export_instance_id(target.name, key))
    assert saved is not None
    assert saved.status == "Running"
    result = trial.run(target, key=key, runner=trial.runner(store))
    resumed = {name: count - before.get(name, 0) for name, count in trial.calls.items()}
    assert resumed == {names.CREATE_JOB: 0, names.CHECK_JOB: 0, names.DOWNLOAD: 1, names.PUBLISH_EVENT: 1}
    assert result.output["reused"] is True  # the re-run download found the committed blob
    assert len(trial.sim.stats.requests_for("graph.content")) == 1
    assert trial.sim.stats.jobs_created["graph"] == 1
    return Outcome(result, target)


def crash_after_the_create_was_accepted(trial: Trial, connector: str) -> tuple[OrchestrationResult, Target, str]:
    """The upstream accepts the POST, then the runner dies before it records the answer; then it resumes."""
    trial.sim.config.job_polls = None
    trial.sim.config.job_duration_s = 0.0  # done before the resume: no "already running" 409 to adopt it by
    created: list[str] = []

    def create_then_die(payload: Any) -> Any:
        answer = ACTIVITIES[names.CREATE_JOB](payload)
        if not created:
            created.append(answer["job"]["job_id"])
            raise Crash
        return answer

    trial.overrides[names.CREATE_JOB] = create_then_die
    target = viva_target(trial.sim) if connector == "viva_goals" else sailpoint_target(trial.sim)
    key = uuid.uuid4().hex
    dying = history_store("azurite")
    with pytest.raises(Crash):
        trial.run(target, key=key, runner=trial.runner(dying))
    dying.close()  # the CLI releases its leases on the way out, as in runner_crash_then_resume_from_azurite
    result = trial.run(target, key=key, runner=trial.runner(history_store("azurite")))
    assert trial.calls[names.CREATE_JOB] == 2  # the create activity ran again on resume
    return result, target, created[0]


def graph_crash_during_create_then_resume(trial: Trial) -> Outcome:
    result, target, first_job = crash_after_the_create_was_accepted(trial, "viva_goals")
    assert trial.sim.stats.jobs_created["graph"] == 1  # the resume found its own job by listing the view's jobs
    assert result.output["job_id"] == first_job
    assert len(trial.sim.stats.requests_for("graph.create")) == 1
    return Outcome(result, target)


def sailpoint_crash_during_create_then_resume(trial: Trial) -> Outcome:
    result, target, first_job = crash_after_the_create_was_accepted(trial, "sailpoint")
    # SailPoint can neither list export jobs nor answer 409: the promise is one export, one orphan job upstream.
    assert trial.sim.stats.jobs_created["sailpoint"] == 2
    assert result.output["job_id"] != first_job
    return Outcome(result, target)


def job_already_running_upstream(trial: Trial) -> Outcome:
    trial.sim.config.job_polls = 3
    response = httpx.post(
        f"{trial.sim.graph_base_url}/employeeExperience/goals/exportJobs",
        json={"goalsOrganizationId": ORG, "explorerViewId": VIEW},
        headers={"Authorization": f"Bearer {GRAPH_FIXTURE_TOKEN}"},
    )
    running_job = response.json()["id"]
    target = viva_target(trial.sim)
    result = trial.run(target)
    assert result.output["job_id"] == running_job  # the create's 409 named it: adopted, not a second job
    assert trial.sim.stats.jobs_created["graph"] == 1
    return Outcome(result, target)


def organization_not_found(trial: Trial) -> Outcome:
    trial.sim.config.organizations = {}
    target = viva_target(trial.sim)
    result = trial.run(target)
    assert len(trial.sim.stats.requests_for("graph.create")) == 1  # permanent: no retry
    return Outcome(result, target, fails_with="Goals organization not found")


def event_sink_unreachable(trial: Trial) -> Outcome:
    def broken_publish(payload: Any) -> Any:
        raise ConnectionError("event queue unreachable")

    trial.overrides[names.PUBLISH_EVENT] = broken_publish
    target = viva_target(trial.sim)
    return Outcome(trial.run(target), target, fails_with="event queue unreachable", published=False)


def graph_error(code: str, message: str, target: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "target": target, "innerError": {"code": code}}}


def conflict_on_every_status_poll(trial: Trial) -> Outcome:
    conflict = graph_error("notAllowed", "Another export job is still active", target="j!someone-elses-job")
    trial.sim.inject("graph.get", status=409, body=conflict, count=100)
    trial.allow_transient_failures(3)
    target = viva_target(trial.sim)
    result = trial.run(target)
    assert len(trial.sim.stats.requests_for("graph.get")) == 4  # never the job the 409 named, never a hot loop
    assert len(trial.sim.stats.requests_for("graph.create")) == 1
    assert sum(1 for e in trial.events if e.kind == "timer_created") == 4  # after the create, then before each retry
    assert result.custom_status["job_id"] != "j!someone-elses-job"
    return Outcome(result, target, fails_with="gave up after 4 consecutive transient failures")


def slow_create_then_adoption_past_the_deadline(trial: Trial) -> Outcome:
    """A step that follows another without waiting (adopting the job a 409 named) still checks the deadline."""

    def slow_create_answering_409(payload: Any) -> Any:
        time.sleep(2.5)  # real time: the orchestration clock moves with it past the 2 s deadline
        return {"error": {"kind": "conflict", "message": "already running", "existing_job_id": "j!running"}}

    trial.overrides[names.CREATE_JOB] = slow_create_answering_409
    target = viva_target(trial.sim)
    result = run_with_poll(target, trial.runner(scale=0), deadline_s=2)
    assert trial.sim.stats.requests_for("graph.get") == []  # the adopted job was not polled past the deadline
    return Outcome(result, target, fails_with="deadline of 2 s passed after 0 poll(s)")


def storage_refusing_every_call(trial: Trial) -> Outcome:
    monkeypatch: pytest.MonkeyPatch = trial.request.getfixturevalue("monkeypatch")
    own_container = os.environ["EXPORTS_CONTAINER"]
    monkeypatch.setenv("EXPORTS_CONTAINER", "Not_A_Valid_Container")  # every blob call is refused by the service
    trial.allow_transient_failures(2)
    target = viva_target(trial.sim)
    result = trial.run(target)
    monkeypatch.setenv("EXPORTS_CONTAINER", own_container)  # the promises read the test's own container
    assert "upstream error" not in (result.error or ""), result.error
    assert len(trial.sim.stats.requests_for("graph.content")) == 0  # storage was asked first; nothing downloaded
    reason = "gave up after 3 consecutive transient failures; last: storage error: Blob Storage:"
    return Outcome(result, target, fails_with=reason)


def huge_strings_from_the_upstream(trial: Trial) -> Outcome:
    job_id = "j!" + "J" * 254  # the longest id the connector accepts (a longer one is refused where it enters)
    reason = "\U0001d518" * 40_000  # 160 KB of UTF-8, 160 KB of UTF-16: the worst case for both limits
    failed = {"id": job_id, "status": "failed", "statusDetail": reason, "createdDateTime": "2026-01-01T00:00:00Z"}
    trial.sim.inject("graph.get", status=200, body=failed, count=1)
    target = viva_target(trial.sim, max_recreations=0)
    result = trial.run(target)
    statuses = [e.detail["status"] for e in trial.events if e.kind == "custom_status"]
    largest = max(len(json.dumps(s, ensure_ascii=False).encode("utf-16-le")) for s in statuses)
    assert largest < 8 * 1024, largest  # the host refuses more than 16 KB
    assert all(len(event["data"]["error"]) <= 1000 for event in storage.events())
    return Outcome(result, target, fails_with=reason[:100])


def latest_json_hand_edited(trial: Trial) -> Outcome:
    storage.settings().container_client().upload_blob("goals/latest.json", b'{"points_to": "hand edited"}')
    trial.allow_transient_failures(2)
    target = viva_target(trial.sim)
    result = trial.run(target)  # the promises check latest.json now matches the new manifest
    assert len(trial.sim.stats.requests_for("graph.content")) == 1
    return Outcome(result, target)


def activity_crashed_once(trial: Trial) -> Outcome:
    """The host words a failed activity `Activity function 'X' failed:  <Type>: <msg>`; the status says it once."""

    def check_that_crashes_once(payload: Any) -> Any:
        if trial.calls[names.CHECK_JOB] == 1:
            raise ValueError("the worker lost its connection pool")
        return ACTIVITIES[names.CHECK_JOB](payload)

    trial.overrides[names.CHECK_JOB] = check_that_crashes_once
    target = viva_target(trial.sim)
    result = trial.run(target)
    errors = trial.last_errors()
    expected = f"activity {names.CHECK_JOB} failed: ValueError: the worker lost its connection pool"
    assert any(error and error.endswith(expected) for error in errors), errors
    assert not any(error and "Activity function" in error for error in errors), errors
    return Outcome(result, target)


def own_job_look_up_refused(status: int, body: Any) -> Callable[[Trial], Outcome]:
    """The list of jobs before the create answers `status` every time: the look-up is skipped, not retried."""

    def row(trial: Trial) -> Outcome:
        caplog: pytest.LogCaptureFixture = trial.request.getfixturevalue("caplog")
        caplog.set_level(logging.WARNING)
        trial.sim.inject("graph.list", status=status, body=body, count=100)
        target = viva_target(trial.sim)
        result = trial.run(target)
        assert len(trial.sim.stats.requests_for("graph.list")) == 1  # never retried
        assert len(trial.sim.stats.requests_for("graph.create")) == 1
        assert trial.calls[names.CREATE_JOB] == 1  # the create went on at once: no failure, no wait before it
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 1, warned
        assert GRAPH_FIXTURE_TOKEN not in caplog.text
        return Outcome(result, target)

    return row


def malformed_job_in_the_list() -> Any:
    old = {"id": "j" * 10_000, "status": "succeeded", "createdDateTime": "2026-01-01T00:00:00Z", "explorerViewId": VIEW}
    return {"value": [old]}


def recreation_looks_up_from_its_own_create(trial: Trial) -> Outcome:
    """A look-up adopts only jobs created after this create was first decided: a re-creation hours into a run
    does not reach back to the run's start, and a retried create keeps the moment of its first attempt."""
    trial.sim.config.fail_jobs = 1
    trial.sim.config.retry_after_s = 600
    trial.sim.inject("graph.create", status=503, retry_after=60)  # the first create is retried once
    requests: list[dict[str, Any]] = []

    def recording_create(payload: Any) -> Any:
        requests.append(payload)
        return ACTIVITIES[names.CREATE_JOB](payload)

    trial.overrides[names.CREATE_JOB] = recording_create
    target = viva_target(trial.sim, ceiling_s=600)
    result = trial.run(target)
    first, retried, recreated = (datetime.fromisoformat(r["not_before"].replace("Z", "+00:00")) for r in requests)
    assert retried == first  # the same create, retried: the moment of its first attempt
    assert recreated - first >= timedelta(seconds=600)  # after the failed job's polls, not the run's start
    assert {r["instance_id"] for r in requests} == {result.instance_id}
    assert result.output["recreations"] == 1
    return Outcome(result, target)


# -- the living APIs (spec connectors) ----------------------------------------------------------------


def cost_details_part_cut_then_resumed(trial: Trial) -> Outcome:
    """The second of three parts is cut mid-body: the retried download reuses the committed first part (read
    past, never stored again) and the manifest lists all three, written only once all are committed."""
    monkeypatch: pytest.MonkeyPatch = trial.request.getfixturevalue("monkeypatch")
    trial.sim.config.cost_parts = 3
    trial.sim.config.content_size = 256 * 1024
    written: list[str] = []
    manifests_seen: list[int] = []

    def cut_after_the_first_part(container: ContainerClient, blob_name: str, chunks: Any, **kw: Any) -> Any:
        manifests_seen.append(len([n for n in storage.blob_names() if n.endswith("/manifest.json")]))
        ref = write_stream(container, blob_name, chunks, **kw)
        written.append(blob_name)
        if len(written) == 1:
            trial.sim.inject("cost.download", drop_after_bytes=1000)
        return ref

    monkeypatch.setattr(result_store, "write_stream", cut_after_the_first_part)
    target = target_of(cost_raw(trial.sim))
    result = trial.run(target)
    assert [name.rsplit("/", 1)[1] for name in written] == ["part-00001.csv", "part-00002.csv", "part-00003.csv"]
    assert manifests_seen == [0, 0, 0, 0]  # no manifest while any part was being written
    assert trial.calls[names.DOWNLOAD] == 2
    assert len(trial.sim.stats.requests_for("cost.download")) == 2 + 3
    assert result.output["parts"] == 3
    return Outcome(result, target)


def cost_details_expired_after_one_part(recreations: int) -> Callable[[Trial], Outcome]:
    """The report's links expire after its first part is stored: the job is given up (re-created, or the export
    fails when no re-creation is allowed) and the part it left, which no manifest lists, is removed."""

    def row(trial: Trial) -> Outcome:
        monkeypatch: pytest.MonkeyPatch = trial.request.getfixturevalue("monkeypatch")
        trial.sim.config.cost_parts = 3
        written: list[str] = []

        def expire_after_the_first_part(container: ContainerClient, blob_name: str, chunks: Any, **kw: Any) -> Any:
            ref = write_stream(container, blob_name, chunks, **kw)
            written.append(blob_name)
            if len(written) == 1:
                trial.sim.expire(next(iter(trial.sim.state.jobs)))
            return ref

        monkeypatch.setattr(result_store, "write_stream", expire_after_the_first_part)
        raw = cost_raw(trial.sim)
        target = target_of({**raw, "poll": {**raw["poll"], "max_recreations": recreations}})
        result = trial.run(target)
        first = written[0].rsplit("/", 1)[0]
        assert not [name for name in storage.blob_names() if name.startswith(first + "/")]  # swept
        if recreations:
            assert result.output["recreations"] == 1
            return Outcome(result, target)
        return Outcome(result, target, fails_with="the limit is 0")

    return row


def cost_details_server_errors_and_no_data(trial: Trial) -> Outcome:
    trial.sim.config.cost_no_data_on_status = True
    trial.sim.inject("cost.create", status=500)
    trial.sim.inject("cost.status", status=503, retry_after=45, count=2)
    target = target_of(cost_raw(trial.sim))
    result = trial.run(target)
    assert 45 in [round(w) for w in trial.waits()]
    assert result.output["no_data"] is True
    assert storage.read_json(result.output["manifest"])["parts"] == []
    return Outcome(result, target)


def powerbi_throttled_then_busy(trial: Trial) -> Outcome:
    """A 429 with Retry-After on a status poll, then a Failed carrying Retry-After ("busy"): both waits are the
    server's, and the busy export is created again only after its wait."""
    trial.sim.inject("pbi.status", status=429, retry_after=120)
    trial.sim.config.powerbi_busy_failures = 1
    trial.sim.config.powerbi_busy_retry_after_s = 300
    target = target_of(powerbi_raw(trial.sim))
    result = trial.run(target)
    waits = [round(w) for w in trial.waits()]
    assert 120 in waits
    assert 300 in waits, waits
    assert len(trial.sim.stats.requests_for("pbi.create")) == 2
    assert result.output["recreations"] == 1
    return Outcome(result, target)


def intune_token_expired_mid_poll(trial: Trial) -> Outcome:
    trial.sim.config.job_polls = 3

    def check_after_expiry(payload: Any) -> Any:
        if trial.calls[names.CHECK_JOB] == 2:
            trial.sim.expire_tokens()
        return ACTIVITIES[names.CHECK_JOB](payload)

    trial.overrides[names.CHECK_JOB] = check_after_expiry
    target = target_of(intune_raw(trial.sim))
    result = trial.run(target)
    statuses = [r.status for r in trial.sim.stats.requests_for("intune.get")]
    assert statuses.count(401) == 1, statuses
    assert statuses[statuses.index(401) + 1] == 200
    assert len(trial.sim.stats.requests_for("intune.delete")) == 1
    return Outcome(result, target)


def intune_slow_zip(trial: Trial) -> Outcome:
    trial.sim.config.content_size = 512 * 1024
    trial.sim.config.content_bytes_per_s = 2 * 1024 * 1024
    target = target_of(intune_raw(trial.sim))
    result = trial.run(target)
    assert len(trial.sim.stats.requests_for("intune.download")) == 1
    return Outcome(result, target)


def salesforce_job_gone_before_download(trial: Trial) -> Outcome:
    """Past its retention a Bulk job and its results are gone (404): the export creates it again."""
    expired: list[str] = []

    def download_after_retention(payload: Any) -> Any:
        if not expired:
            expired.append(payload["job"]["job_id"])
            trial.sim.expire(expired[0])
        return ACTIVITIES[names.DOWNLOAD](payload)

    trial.overrides[names.DOWNLOAD] = download_after_retention
    target = target_of(salesforce_raw(trial.sim))
    result = trial.run(target)
    assert result.output["recreations"] == 1
    assert len(trial.sim.stats.requests_for("sf.create")) == 2
    return Outcome(result, target)


def salesforce_stuck_until_the_deadline_is_aborted(trial: Trial) -> Outcome:
    trial.sim.config.never_finish = True
    raw = salesforce_raw(trial.sim)
    target = target_of({**raw, "poll": {**raw["poll"], "deadline_s": 300}})
    result = trial.run(target)
    aborts = trial.sim.stats.requests_for("sf.abort")
    assert [r.status for r in aborts] == [200]
    assert storage.events()[0]["data"]["cleanup"] == {"sent": True, "error": None}
    waits = trial.waits()
    assert min(waits[:-1]) >= 10, waits  # the spec's minimum interval (10 s), though Salesforce sends no Retry-After
    return Outcome(result, target, fails_with="deadline of 300 s passed after")


ROWS = [
    pytest.param(throttled_with_escalating_retry_after, id="429-storm-escalating-retry-after"),
    pytest.param(burst_of_server_errors, id="5xx-burst"),
    pytest.param(connection_dropped_mid_download, id="connection-dropped-mid-download"),
    pytest.param(azurite_restarted_during_upload, id="azurite-restarted-during-upload"),
    pytest.param(sailpoint_token_expired_mid_poll, id="sailpoint-token-expired-mid-poll"),
    pytest.param(job_stuck_until_the_deadline, id="job-stuck-until-deadline"),
    pytest.param(job_failed_then_recreated, id="job-failed-then-recreated"),
    pytest.param(graph_job_failing_past_the_recreation_limit, id="graph-job-failing-past-recreation-limit"),
    pytest.param(sailpoint_job_failing_past_the_recreation_limit, id="sailpoint-job-failing-past-recreation-limit"),
    pytest.param(result_expired_before_download, id="result-expired-before-download"),
    pytest.param(duplicate_trigger, id="duplicate-trigger-same-run-key"),
    pytest.param(runner_crash_then_resume_from_azurite, id="runner-crash-then-resume-from-azurite"),
    pytest.param(graph_crash_during_create_then_resume, id="graph-crash-during-create-then-resume"),
    pytest.param(sailpoint_crash_during_create_then_resume, id="sailpoint-crash-during-create-then-resume"),
    pytest.param(job_already_running_upstream, id="create-409-adopts-the-running-job"),
    pytest.param(organization_not_found, id="permanent-error-fails-fast"),
    pytest.param(event_sink_unreachable, id="event-sink-unreachable"),
    pytest.param(conflict_on_every_status_poll, id="409-on-every-status-poll"),
    pytest.param(slow_create_then_adoption_past_the_deadline, id="slow-create-then-adoption-past-deadline"),
    pytest.param(storage_refusing_every_call, id="storage-refusing-every-call"),
    pytest.param(huge_strings_from_the_upstream, id="huge-upstream-strings"),
    pytest.param(latest_json_hand_edited, id="latest-json-hand-edited"),
    pytest.param(activity_crashed_once, id="activity-crashed-once"),
    pytest.param(own_job_look_up_refused(403, graph_error("Forbidden", f"no {GRAPH_FIXTURE_TOKEN}")), id="list-403"),
    pytest.param(own_job_look_up_refused(404, None), id="list-404"),
    pytest.param(own_job_look_up_refused(400, graph_error("badRequest", "Invalid filter clause")), id="list-400"),
    pytest.param(own_job_look_up_refused(500, None), id="list-500-every-time"),
    pytest.param(own_job_look_up_refused(200, malformed_job_in_the_list()), id="list-with-a-malformed-job"),
    pytest.param(recreation_looks_up_from_its_own_create, id="recreation-looks-up-from-its-own-create"),
    pytest.param(cost_details_part_cut_then_resumed, id="cost-details-part-cut-then-resumed"),
    pytest.param(cost_details_expired_after_one_part(1), id="cost-details-expired-after-one-part-recreated"),
    pytest.param(cost_details_expired_after_one_part(0), id="cost-details-expired-after-one-part-failed"),
    pytest.param(cost_details_server_errors_and_no_data, id="cost-details-5xx-then-no-data"),
    pytest.param(powerbi_throttled_then_busy, id="powerbi-429-then-failed-with-retry-after"),
    pytest.param(intune_token_expired_mid_poll, id="intune-token-expired-mid-poll"),
    pytest.param(intune_slow_zip, id="intune-slow-zip"),
    pytest.param(salesforce_job_gone_before_download, id="salesforce-job-gone-after-retention"),
    pytest.param(salesforce_stuck_until_the_deadline_is_aborted, id="salesforce-stuck-until-deadline-aborted"),
]


@pytest.mark.parametrize("row", ROWS)
def test_export_under_fault_keeps_every_promise(row: Callable[[Trial], Outcome], trial: Trial) -> None:
    assert_promises_kept(row(trial), trial.sim)
