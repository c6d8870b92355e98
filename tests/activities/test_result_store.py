"""Multi-part results on Azurite: one blob per part, all-or-nothing, parts reused on a re-run, read back in order.

The connector here is a stand-in that yields parts from memory (the unit is the store, not HTTP); the same path
runs against the simulated APIs through the CLI in tests/local/test_living_apis.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import pytest

from activities.result_store import store_result
from connectors.base import CleanupWhen, ContentStream, JobState, JobStatus, ResultLayout, ResultPart
from connectors.spec.results import ChunkStream
from downstream.reader import iter_records
from kernel.results import CleanupOutcome, RecordFormat
from sinks.blob_writer import DEFAULT_BLOCKS_IN_FLIGHT
from sinks.manifest import ExportManifest, RecordsFormat
from tests.support import storage
from tests.support.memory import peak_rss

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]
JOB = JobStatus("job-1", JobState.SUCCEEDED, "Completed")


class Parts:
    """Yields `bodies` as parts, in order."""

    name = "stand_in"
    min_interval_s = 0.0

    def __init__(self, bodies: list[bytes], *, multi: bool = True, records: RecordFormat = "csv") -> None:
        self.bodies = bodies
        self.multi = multi
        self.records = records

    def result_layout(self, job: JobStatus) -> ResultLayout:
        return ResultLayout(multi_part=self.multi, records=self.records)

    def iter_result(self, job: JobStatus) -> Iterator[tuple[ResultPart, ContentStream]]:
        for index, body in enumerate(self.bodies, start=1):
            yield (
                ResultPart(f"https://example.invalid/part/{index}", f"file{index}.csv"),
                ChunkStream([body], "text/csv"),
            )

    # The rest of the interface, unused by the store.
    def start_job(self) -> JobStatus:
        raise NotImplementedError

    def get_job(self, job_id: str) -> JobStatus:
        raise NotImplementedError

    def check_job(self, job: JobStatus) -> JobStatus:
        raise NotImplementedError

    def open_content(self, job: JobStatus) -> AbstractContextManager[ContentStream]:
        raise NotImplementedError

    def find_own_jobs(self, not_before: datetime) -> list[JobStatus]:
        return []

    def result_parts(self, job: JobStatus) -> list[ResultPart]:
        raise NotImplementedError

    def open_part(self, job: JobStatus, part: ResultPart) -> AbstractContextManager[ContentStream]:
        raise NotImplementedError

    def cleanup(self, job: JobStatus, when: CleanupWhen) -> CleanupOutcome:
        return CleanupOutcome()


def store(conn: Parts, instance: str = "i-1") -> Any:
    return store_result(storage.container(), conn, JOB, target="costs", connector_name="stand_in", instance_id=instance)


def test_each_part_is_its_own_blob_under_the_export_prefix_in_order() -> None:
    bodies = [f"n\n{index}\n".encode() for index in range(1, 4)]
    stored = store(Parts(bodies))

    names = [part.name for part in stored.parts]
    assert [name.rsplit("/", 1)[1] for name in names] == ["part-00001.csv", "part-00002.csv", "part-00003.csv"]
    assert len({name.rsplit("/", 1)[0] for name in names}) == 1
    assert [storage.container().download_blob(name).readall() for name in names] == bodies
    assert [part.upstream_name for part in stored.parts] == ["file1.csv", "file2.csv", "file3.csv"]
    assert stored.blob is None


def test_a_single_file_result_keeps_the_content_blob_name() -> None:
    stored = store(Parts([b"a\n1\n"], multi=False))
    assert stored.blob is not None
    assert stored.blob.name.endswith("/content.csv")
    assert stored.parts == []


def etag(name: str) -> str:
    return str(storage.container().get_blob_client(name).get_blob_properties().etag)


def test_a_rerun_reuses_the_parts_an_interrupted_attempt_committed() -> None:
    bodies = [f"n\n{index}\n".encode() for index in range(1, 4)]
    first = store(Parts(bodies))
    before = {
        part.name: storage.container().get_blob_client(part.name).get_blob_properties().etag for part in first.parts
    }

    again = store(Parts(bodies), instance="i-2")

    assert again.reused_parts == 3
    after = {
        part.name: storage.container().get_blob_client(part.name).get_blob_properties().etag for part in again.parts
    }
    assert after == before  # nothing uploaded again
    assert [part.sha256 for part in again.parts] == [part.sha256 for part in first.parts]


def test_iter_records_reads_every_part_in_order_as_the_manifest_says() -> None:
    csv_parts = [b"n,v\n1,a\n", b"n,v\n2,b\n3,c\n"]
    stored = store(Parts(csv_parts))
    manifest = ExportManifest(
        target="costs",
        connector="stand_in",
        job_id="job-1",
        instance_id="i-1",
        parts=stored.parts,
        records=RecordsFormat(format="csv"),
        created_at=None,
        completed_at="2026-12-04T00:00:00Z",
        upstream_expires_at=None,
    )
    assert [row["n"] for row in iter_records(storage.container(), manifest)] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("records", "bodies", "expected"),
    [
        (RecordsFormat(format="ndjson"), [b'{"n": 1}\n{"n": 2}\n', b'{"n": 3}\n'], [1, 2, 3]),
        (
            RecordsFormat(format="json_array_at_path", path="value"),
            [b'{"value": [{"n": 1}]}', b'{"value": [{"n": 2}]}'],
            [1, 2],
        ),
    ],
)
def test_records_of_json_parts_follow_the_manifests_format(
    records: RecordsFormat, bodies: list[bytes], expected: list[int]
) -> None:
    stored = store(Parts(bodies))
    manifest = ExportManifest(
        target="costs",
        connector="stand_in",
        job_id="job-1",
        instance_id="i-1",
        parts=stored.parts,
        records=records,
        created_at=None,
        completed_at="2026-12-04T00:00:00Z",
        upstream_expires_at=None,
    )
    assert [record["n"] for record in iter_records(storage.container(), manifest)] == expected


def test_a_version_1_manifest_still_reads_as_one_blob() -> None:
    stored = store(Parts([b"Title\nx\n"], multi=False))
    assert stored.blob is not None
    v1 = {
        "schema_version": 1,
        "target": "costs",
        "connector": "viva_goals",
        "job_id": "job-1",
        "instance_id": "i-1",
        "blob": stored.blob.model_dump(),
        "created_at": None,
        "completed_at": "2026-12-04T00:00:00Z",
        "upstream_expires_at": None,
    }
    manifest = ExportManifest.model_validate_json(json.dumps(v1))
    assert manifest.schema_version == 2
    assert [row["Title"] for row in iter_records(storage.container(), manifest)] == ["x"]


class ManyParts(Parts):
    """`count` parts of `size` bytes each, made as they are read (nothing of them is held by the stand-in)."""

    def __init__(self, count: int, size: int) -> None:
        super().__init__([])
        self.count, self.size = count, size

    def iter_result(self, job: JobStatus) -> Iterator[tuple[ResultPart, ContentStream]]:
        for index in range(1, self.count + 1):
            chunks = (bytes([index % 251]) * 65536 for _ in range(self.size // 65536))
            yield ResultPart(f"https://example.invalid/page/{index}"), ChunkStream(chunks, "text/csv")


@pytest.mark.slow
def test_memory_stays_flat_whatever_the_number_of_parts() -> None:
    with peak_rss() as memory:
        stored = store(ManyParts(120, 1024 * 1024))
    assert len(stored.parts) == 120
    bound_mib = (DEFAULT_BLOCKS_IN_FLIGHT + 1) * 1 + 24  # one part's blocks (1 MiB each), plus the SDK's own
    assert memory.growth_mib < bound_mib, f"peak RSS grew by {memory.growth_mib:.1f} MiB for 120 MiB in 120 parts"


def test_a_manifest_without_parts_has_no_records() -> None:
    manifest = ExportManifest(
        target="costs",
        connector="stand_in",
        job_id="job-1",
        instance_id="i-1",
        no_data=True,
        created_at=None,
        completed_at="2026-12-04T00:00:00Z",
        upstream_expires_at=None,
    )
    assert list(iter_records(storage.container(), manifest)) == []
