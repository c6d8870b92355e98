"""The blob history store keeps what the runner needs to resume, in Azurite, whole or not at all."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient

from activities.export_activities import ACTIVITIES
from local.azurite import Azurite
from local.cli import HISTORY_CONTAINER, INTERRUPTED, history_store, run_main
from local.runner import BlobHistoryStore, LocalRunner, StoredInstance
from local.runner.blob_store import InstanceBusy, LeaseLost, history_blob_name
from local.simulator import Simulator
from orchestrators import names
from tests.faults.conftest import RestartableAzurite
from tests.support.targets import ORG, VIEW

pytestmark = pytest.mark.integration
Context = Any


@pytest.fixture
def container(azurite: Azurite) -> Iterator[ContainerClient]:
    client = BlobServiceClient.from_connection_string(azurite.connection_string)
    created = client.create_container(f"history-{uuid.uuid4().hex}")
    yield created
    created.delete_container()


def instance(**changes: Any) -> StoredInstance:
    base = StoredInstance(
        name="export_orchestrator",
        input=json.dumps({"target": {"name": "goals"}, "run_key": "k"}),
        history=[{"EventType": 12, "EventId": -1, "Timestamp": "2026-01-01T00:00:00.000000Z"}],
        custom_status={"phase": "polling", "polls": 3},
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_an_unknown_instance_loads_as_none(container: ContainerClient) -> None:
    assert BlobHistoryStore(container).load("never-saved") is None


def test_a_saved_instance_loads_back_equal_from_a_new_store(container: ContainerClient) -> None:
    saved = instance(status="Failed", error="deadline passed", output=None, generation=3, parent_instance_id="p")
    BlobHistoryStore(container).save("export-goals-k", saved)
    assert BlobHistoryStore(container).load("export-goals-k") == saved


def test_a_save_replaces_the_previous_one_in_the_same_single_blob(container: ContainerClient) -> None:
    store = BlobHistoryStore(container)
    store.save("i", instance())
    store.save("i", instance(status="Completed", output={"blob": "goals/x/content.csv"}))
    loaded = store.load("i")
    assert loaded is not None
    assert (loaded.status, loaded.output) == ("Completed", {"blob": "goals/x/content.csv"})
    assert [b.name for b in container.list_blobs()] == [history_blob_name("i")]


def test_blob_names_are_hashes_so_hostile_ids_neither_reach_the_path_nor_collide(container: ContainerClient) -> None:
    store = BlobHistoryStore(container)
    ids = ["../../etc/passwd", "../../etc/passwd ", "ünïcode/ id", "x" * 5000]
    for n, instance_id in enumerate(ids):
        store.save(instance_id, instance(generation=n + 1))
    names = sorted(b.name for b in container.list_blobs())
    assert len(names) == len(ids)
    assert all(name.startswith("runner-history/") and name.endswith(".json") and ".." not in name for name in names)
    assert all(len(name) == len("runner-history/") + 32 + len(".json") for name in names)
    assert [loaded.generation for loaded in map(store.load, ids) if loaded] == [1, 2, 3, 4]


def test_a_reader_sees_the_old_or_the_new_history_never_a_torn_one(container: ContainerClient) -> None:
    store = BlobHistoryStore(container)
    versions = [instance(history=[{"EventType": 0, "Pad": str(n) * 400_000}], generation=n) for n in (1, 2)]
    store.save("i", versions[0])
    stop = threading.Event()
    seen: set[int] = set()
    problems: list[str] = []

    def read() -> None:
        reader_store = BlobHistoryStore(container)
        while not stop.is_set():
            try:
                loaded = reader_store.read("i")
            except Exception as exc:  # a torn blob would not even parse
                problems.append(repr(exc))
                return
            if loaded is None or loaded not in versions:
                problems.append(f"read {loaded!r:.80}, which was never saved")
                return
            seen.add(loaded.generation)

    reader = threading.Thread(target=read)
    reader.start()
    for n in range(12):
        store.save("i", versions[(n + 1) % 2])
    stop.set()
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert problems == []
    assert seen


class Crash(BaseException):
    """The process dying inside an activity: not an `Exception`, so not a task failure."""


def test_a_new_runner_resumes_from_the_blobs_without_redoing_finished_activities(container: ContainerClient) -> None:
    calls: list[str] = []

    def record(step: str) -> str:
        calls.append(step)
        if step == "b" and calls.count("b") == 1:
            raise Crash(step)
        return step

    def three_steps(ctx: Context) -> Any:
        done = []
        for step in ("a", "b", "c"):
            done.append((yield ctx.call_activity("record", step)))
        return done

    # A process dying of an exception releases its leases as the CLI does; one killed outright: test_cli.py.
    with BlobHistoryStore(container) as dying, pytest.raises(Crash):
        LocalRunner({"o": three_steps}, {"record": record}, store=dying).run("o", None, "run-1")
    saved = BlobHistoryStore(container).read("run-1")
    assert saved is not None
    assert saved.status == "Running"

    with LocalRunner({"o": three_steps}, {"record": record}, store=BlobHistoryStore(container)) as runner:
        result = runner.run("o", None, "run-1")
    assert (result.status, result.output) == ("Completed", ["a", "b", "c"])
    assert calls == ["a", "b", "b", "c"]


def read(container: ContainerClient, instance_id: str) -> StoredInstance:
    saved = BlobHistoryStore(container).read(instance_id)
    assert saved is not None
    return saved


def test_a_running_instance_is_refused_to_another_store_until_the_first_releases_it(
    container: ContainerClient,
) -> None:
    with BlobHistoryStore(container) as first, BlobHistoryStore(container) as second:
        assert first.load("i") is None
        first.save("i", instance())
        with pytest.raises(InstanceBusy, match="another process is driving it"):
            second.load("i")
        with pytest.raises(InstanceBusy, match="another process is driving it"):
            second.save("i", instance(generation=9))
        first.save("i", instance(generation=2))  # the holder goes on undisturbed
    with BlobHistoryStore(container) as third:  # closed stores released their leases: a resume takes it at once
        assert third.load("i") == instance(generation=2)


def test_of_two_stores_starting_the_same_new_instance_only_one_creates_it(container: ContainerClient) -> None:
    with BlobHistoryStore(container) as first, BlobHistoryStore(container) as second:
        assert first.load("i") is None
        assert second.load("i") is None
        first.save("i", instance(generation=1))
        with pytest.raises(InstanceBusy, match="started it at the same moment"):
            second.save("i", instance(generation=2))
    assert read(container, "i").generation == 1


def test_a_stale_writer_with_an_old_etag_never_overwrites_a_newer_history(container: ContainerClient) -> None:
    BlobHistoryStore(container).save("i", instance(status="Completed"))
    with BlobHistoryStore(container) as stale, BlobHistoryStore(container) as newer:
        assert stale.load("i") == instance(status="Completed")  # an ended instance is read, not held
        assert newer.load("i") == instance(status="Completed")
        newer.save("i", instance(status="Completed", generation=2))
        with pytest.raises(LeaseLost, match="changed before this process could lease it"):
            stale.save("i", instance(status="Failed", generation=3))
    assert read(container, "i").generation == 2


def test_a_store_whose_lease_was_taken_over_stops_at_its_next_save(container: ContainerClient) -> None:
    with BlobHistoryStore(container) as old, BlobHistoryStore(container, take_over=True) as new:
        old.save("i", instance())
        assert new.load("i") == instance()
        new.save("i", instance(generation=2))
        with pytest.raises(LeaseLost, match="no longer drives it"):
            old.save("i", instance(generation=3))
    assert read(container, "i").generation == 2


def test_a_driver_keeps_its_instance_across_an_azurite_restart_that_keeps_the_data(tmp_path: Path) -> None:
    own = RestartableAzurite(tmp_path / "azurite")
    try:
        container = BlobServiceClient.from_connection_string(own.azurite.connection_string).create_container("history")
        with BlobHistoryStore(container) as holder:
            holder.save("i", instance())
            own.stop()
            own.restart()  # same ports and data: Azurite keeps the blob but shows the lease as expired
            holder.save("i", instance(generation=2))  # renewed first: nobody had leased or changed it since
            with BlobHistoryStore(container) as other, pytest.raises(InstanceBusy):
                other.load("i")
        assert read(container, "i").generation == 2
    finally:
        own.close()


def test_a_runner_whose_instance_is_taken_over_mid_run_stops_without_saving_or_starting_more(
    container: ContainerClient,
) -> None:
    calls: list[str] = []
    takers: list[StoredInstance | None] = []

    def record(step: str) -> str:
        calls.append(step)
        if step == "a":  # another process takes the instance over while this activity runs
            takers.append(taker.load("run-1"))
        return step

    def two_steps(ctx: Context) -> Any:
        return [(yield ctx.call_activity("record", "a")), (yield ctx.call_activity("record", "b"))]

    taker, store = BlobHistoryStore(container, take_over=True), BlobHistoryStore(container)
    runner = LocalRunner({"o": two_steps}, {"record": record}, store=store)
    with taker, store, runner, pytest.raises(LeaseLost):
        runner.run("o", None, "run-1")
    assert calls == ["a"]
    assert takers
    assert read(container, "run-1") == takers[0]  # nothing was written after the take-over


def test_a_parent_and_its_children_in_one_process_each_hold_their_own_lease(container: ContainerClient) -> None:
    seen: dict[str, str] = {}

    def probe(instance_ids: list[str]) -> None:
        with BlobHistoryStore(container) as outsider:  # another process, while the run is under way
            for instance_id in instance_ids:
                try:
                    outsider.load(instance_id)
                    seen[instance_id] = "loaded"
                except InstanceBusy:
                    seen[instance_id] = "refused"

    def child(ctx: Context) -> Any:
        yield ctx.call_activity("probe", ["parent", ctx.instance_id])
        return ctx.instance_id

    def parent(ctx: Context) -> Any:
        return (yield ctx.task_all([ctx.call_sub_orchestrator("child", None, f"child-{n}") for n in range(2)]))

    store = BlobHistoryStore(container)
    with store, LocalRunner({"parent": parent, "child": child}, {"probe": probe}, store=store) as runner:
        result = runner.run("parent", None, "parent")
    assert (result.status, result.output) == ("Completed", ["child-0", "child-1"])
    assert seen == {"parent": "refused", "child-0": "refused", "child-1": "refused"}


def test_the_cli_keeps_history_in_a_container_of_the_export_storage_it_creates(export_env: str) -> None:
    service = BlobServiceClient.from_connection_string(export_env)
    with contextlib.suppress(ResourceNotFoundError):
        service.delete_container(HISTORY_CONTAINER)  # as on a fresh storage account
    store = history_store("azurite")
    store.save("cli-run", instance())
    store.close()
    assert service.get_container_client(HISTORY_CONTAINER).get_blob_client(history_blob_name("cli-run")).exists()
    assert history_store("azurite").load("cli-run") == instance()
    assert history_store("memory").load("cli-run") is None


def test_an_interrupted_cli_run_resumes_when_repeated_with_the_run_key_it_printed(
    export_env: str,
    simulator: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    targets = tmp_path / "targets.json"
    auth = {"kind": "bearer_env", "env": "TEST_GRAPH_TOKEN"}
    params = {"goals_organization_id": ORG, "explorer_view_id": VIEW}
    target = {"name": "goals", "connector": "viva_goals", "base_url": simulator.graph_base_url, "params": params}
    targets.write_text(json.dumps({"targets": [{**target, "auth": auth}]}))
    interrupted: list[bool] = []

    def poll_then_ctrl_c(payload: Any) -> Any:
        answer = check(payload)
        if not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt
        return answer

    check = ACTIVITIES[names.CHECK_JOB]
    monkeypatch.setitem(ACTIVITIES, names.CHECK_JOB, poll_then_ctrl_c)
    argv = ["goals", "--targets", str(targets), "--timer-scale", "0.001", "--quiet"]
    assert run_main(argv) == INTERRUPTED
    hint = re.search(r"repeat with --run-key (\S+) to resume", capsys.readouterr().err)
    assert hint is not None

    assert run_main([*argv, "--run-key", hint.group(1)]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "succeeded"
    assert simulator.stats.jobs_created["graph"] == 1
    assert len(simulator.stats.requests_for("graph.create")) == 1
