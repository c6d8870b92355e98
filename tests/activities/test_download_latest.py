"""latest.json after real downloads (the download activity, a loopback upstream, Azurite): the upstream's clock
cannot pin it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from activities.export_activities import download_export
from connectors.base import JobState, JobStatus
from kernel.timestamps import to_iso
from orchestrators.contracts import DownloadRequest, StoredExport
from targets import Target
from tests.support import storage
from tests.support.hostile_upstream import Reply, Request, hostile_upstream
from tests.support.targets import viva_raw

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]


def csv(request: Request, reply: Reply) -> None:
    body = f"job,{request.path}\n".encode()
    reply.head(200, {"Content-Type": "text/csv", "Content-Length": str(len(body))})
    reply.write(body)


def export(base_url: str, url: str, job_id: str, created_at: str | None) -> StoredExport:
    job = JobStatus(job_id, JobState.SUCCEEDED, "succeeded", download_url=f"{url}/{job_id}", created_at=created_at)
    request = DownloadRequest(
        target=Target.from_input(viva_raw(base_url)), job=job, instance_id=f"export-goals-{job_id}-0123456789ab"
    )
    answer = download_export(request.to_json())
    assert "error" not in answer, answer
    return StoredExport.from_json(answer)


@pytest.mark.parametrize("ahead", ["year-9999", "one-hour-ahead"])
def test_an_export_created_in_the_upstreams_future_does_not_pin_latest(ahead: str) -> None:
    future = "9999-12-31T23:59:59Z" if ahead == "year-9999" else to_iso(datetime.now(UTC) + timedelta(hours=1))
    with hostile_upstream(csv) as upstream:
        pinned = export(upstream.graph_base_url, upstream.url, "j-future", future)
        honest = export(upstream.graph_base_url, upstream.url, "j-honest", to_iso(datetime.now(UTC)))
    assert storage.read_json(pinned.manifest)["created_at"] is None  # stored as unknown, not as the upstream's
    assert storage.read_json("goals/latest.json") == storage.read_json(honest.manifest)


def test_a_creation_time_within_the_skew_is_kept_and_still_orders_latest() -> None:
    ahead = to_iso(datetime.now(UTC) + timedelta(minutes=3))
    with hostile_upstream(csv) as upstream:
        newer = export(upstream.graph_base_url, upstream.url, "j-newer", ahead)
        export(upstream.graph_base_url, upstream.url, "j-older", to_iso(datetime.now(UTC) - timedelta(hours=1)))
    assert storage.read_json(newer.manifest)["created_at"] == ahead
    assert storage.read_json("goals/latest.json") == storage.read_json(newer.manifest)
