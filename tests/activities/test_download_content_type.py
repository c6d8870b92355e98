"""The download activity against a hostile upstream whose Content-Type is not a media type, with Azurite."""

from __future__ import annotations

import pytest

from activities.export_activities import download_export
from connectors.base import JobState, JobStatus
from local.simulator import GRAPH_FIXTURE_TOKEN
from orchestrators.contracts import DownloadRequest, StoredExport
from targets import Target
from tests.support import storage
from tests.support.hostile_upstream import Reply, Request, Scenario, hostile_upstream
from tests.support.targets import viva_raw

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]
BODY = b"a,b\n1,2\n"


def serving(content_type: str) -> Scenario:
    def scenario(request: Request, reply: Reply) -> None:
        reply.head(200, {"Content-Type": content_type, "Content-Length": str(len(BODY))})
        reply.write(BODY)

    return scenario


def download(base_url: str, url: str) -> dict[str, object]:
    job = JobStatus("job-1", JobState.SUCCEEDED, "succeeded", download_url=url)
    request = DownloadRequest(
        target=Target.from_input(viva_raw(base_url)), job=job, instance_id="export-goals-x-0123456789ab"
    )
    return download_export(request.to_json())


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        ("text/" + "x" * 7 * 1024, "text/xxx"),  # 7 KB: the commit failed and the export was downloaded 31 times
        ("text/csv; charset=utf-8" + "; p=v" * 60, "text/csv; charset=utf-8"),  # well-formed but over 255
        ("text csv", "text csv"),
        ("text/", "text/"),
        ("/csv", "/csv"),
        ("text/csv;", "text/csv;"),
        ("text/csv; charset", "text/csv; charset"),
        ('text/csv; charset="utf-8', 'text/csv; charset="utf-8'),
        ("text/csv,text/plain", "text/csv,text/plain"),
        ("te(x)t/csv", "te(x)t/csv"),
        ("text/csv; note=\u00e9", "text/csv; note=\u00e9"),
        (f"text/csv; token={GRAPH_FIXTURE_TOKEN}; x", "text/csv; token=[redacted]; x"),
    ],
)
def test_an_unusable_content_type_is_stored_as_octet_stream_and_the_manifest_says_so(
    content_type: str, shown: str
) -> None:
    with hostile_upstream(serving(content_type)) as upstream:
        answer = download(upstream.graph_base_url, f"{upstream.url}/content")
        downloads = len(upstream.requests)
    assert "error" not in answer, answer
    stored = StoredExport.from_json(answer)
    assert stored.blob is not None
    assert stored.blob.content_type == "application/octet-stream"
    assert stored.blob.name.endswith("/content.bin")
    assert storage.container().get_blob_client(stored.blob.name).download_blob().readall() == BODY
    refused = storage.read_json(stored.manifest)["refused_content_type"]
    assert refused.startswith(shown)
    assert len(refused) <= 100
    assert GRAPH_FIXTURE_TOKEN not in refused
    assert downloads == 1


@pytest.mark.parametrize(
    ("content_type", "stored"),
    [
        ("text/csv", "text/csv"),
        ("Text/CSV; charset=UTF-8", "text/csv"),
        ('application/json; charset="utf-8"; q=1', "application/json"),
        ("text/csv ;charset=utf-8", "text/csv"),
    ],
)
def test_a_well_formed_content_type_is_kept_as_its_bare_media_type(content_type: str, stored: str) -> None:
    with hostile_upstream(serving(content_type)) as upstream:
        answer = download(upstream.graph_base_url, f"{upstream.url}/content")
    blob = StoredExport.from_json(answer).blob
    assert blob is not None
    assert blob.content_type == stored
    assert storage.read_json(StoredExport.from_json(answer).manifest)["refused_content_type"] is None
