"""The engine on what the seeds never do: a Location job reference, progress from the HTTP status, no data,
several result parts on another host, and cleanup, against a small scripted upstream on 127.0.0.1.

The spec is the built-in cost details spec, the shape of Azure Cost Management's report API. Until the
simulator has that API, the upstream here is a standard-library server that answers what the test scripts.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from connectors.base import JobState, JobStatus, ResultPart
from connectors.spec.engine import SpecConnector
from connectors.spec.loader import load_spec
from connectors.spec.model import CleanupSpec, PaginationSpec, RequestSpec
from credentials.static_token import StaticTokenProvider
from kernel.errors import ErrorKind, UpstreamError
from orchestrators.contracts import JobAnswer
from tests.support.loopback_server import loopback_server

pytestmark = pytest.mark.integration
SPEC = load_spec(Path(__file__).resolve().parents[3] / "connectors" / "specs" / "cost_details_report.yaml")
TOKEN = "fixture-token-for-the-scripted-upstream"
SCOPE = "subscriptions/00000000-0000-0000-0000-000000000000"
PARAMS = {"scope": SCOPE, "time_period": {"start": "2026-11-01", "end": "2026-11-30"}}


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    authorized: bool
    body: Any


class Upstream:
    """Answers each request with the next scripted reply for its method and path prefix; records what it saw."""

    def __init__(self) -> None:
        self.script: list[tuple[str, str, Reply]] = []
        self.seen: list[Seen] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                upstream.seen.append(
                    Seen(self.command, self.path, "Authorization" in self.headers, json.loads(raw) if raw else None)
                )
                reply = Reply(404, {"error": {"code": "NotFound", "message": "nothing scripted"}})
                for index, (method, prefix, scripted) in enumerate(upstream.script):
                    if method == self.command and self.path.startswith(prefix):
                        reply = scripted
                        del upstream.script[index]
                        break
                if isinstance(reply.body, bytes) or reply.body is None:
                    data = reply.body or b""
                else:  # a scripted body names this server's port as {port}
                    data = json.dumps(reply.body).replace("{port}", str(upstream.port)).encode()
                self.send_response(reply.status)
                kind = "text/csv" if isinstance(reply.body, bytes) else "application/json"
                for name, value in {"Content-Type": kind, **reply.headers}.items():
                    self.send_header(name, value.replace("{port}", str(upstream.port)))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PATCH = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.handler = Handler
        self.port = 0
        self.base_url = ""

    def on(self, method: str, prefix: str, reply: Reply) -> None:
        self.script.append((method, prefix, reply))


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    scripted = Upstream()
    with loopback_server(scripted.handler, name="scripted-upstream") as running:
        scripted.port, scripted.base_url = running.port, running.url
        yield scripted


def connector(upstream: Upstream, spec: Any = SPEC) -> SpecConnector:
    return SpecConnector(spec, upstream.base_url, PARAMS, StaticTokenProvider("T", {"T": TOKEN}))


CREATE = f"/{SCOPE}/providers/Microsoft.CostManagement/generateCostDetailsReport"
OPERATION = f"/{SCOPE}/providers/Microsoft.CostManagement/costDetailsOperationResults/op-1"


def accepted(location: str | None = None) -> Reply:
    return Reply(
        202,
        None,
        {"Location": location or "http://127.0.0.1:{port}" + OPERATION + "?api-version=2023-11-01", "Retry-After": "3"},
    )


def completed(hosts: tuple[str, ...] = ("localhost", "localhost")) -> Reply:
    blobs = [
        {"blobLink": f"http://{host}:{{port}}/blob/part-{i}.csv?se=2030-01-01T00%3A00%3A00Z&sig=abc", "byteCount": 8}
        for i, host in enumerate(hosts, 1)
    ]
    manifest = {"blobCount": len(blobs), "blobs": blobs}
    return Reply(200, {"id": "op-1", "status": "Completed", "manifest": manifest, "validTill": "2030-01-02T00:00:00Z"})


def test_a_location_job_is_polled_by_its_url_until_the_status_code_says_done(upstream: Upstream) -> None:
    upstream.on("POST", CREATE, accepted())
    upstream.on("GET", OPERATION, Reply(202, None, {"Retry-After": "2"}))
    upstream.on("GET", OPERATION, completed())
    conn = connector(upstream)

    job = conn.start_job()
    running = conn.check_job(job)
    finished = conn.check_job(running)

    assert (job.job_id, job.state, job.retry_after_s) == ("op-1", JobState.RUNNING, 3.0)
    assert job.job_ref == f"{upstream.base_url}{OPERATION}?api-version=2023-11-01"
    assert (running.state, running.retry_after_s, running.upstream_status) == (JobState.RUNNING, 2.0, "HTTP 202")
    assert finished.state is JobState.SUCCEEDED
    assert [(p.size, p.url.split("?")[0].rsplit("/", 1)[-1]) for p in finished.parts] == [
        (8, "part-1.csv"),
        (8, "part-2.csv"),
    ]
    assert finished.expires_at == "2030-01-02T00:00:00Z"
    assert upstream.seen[0].body == {"metric": "ActualCost", "timePeriod": {"start": "2026-11-01", "end": "2026-11-30"}}
    assert "api-version=2023-11-01" in upstream.seen[0].path
    assert all(seen.authorized for seen in upstream.seen)
    assert JobAnswer.from_json(JobAnswer(job=finished).to_json()).job == finished  # it survives the history


def test_every_part_on_an_allowed_host_is_fetched_without_the_token(upstream: Upstream) -> None:
    conn = connector(upstream)
    parts = (ResultPart(f"http://localhost:{upstream.port}/blob/part-{i}.csv", None, 8) for i in (1, 2))
    job = JobStatus("op-1", JobState.SUCCEEDED, "Completed", parts=tuple(parts))
    upstream.on("GET", "/blob/part-1.csv", Reply(200, b"a,b\n1,2\n"))
    upstream.on("GET", "/blob/part-2.csv", Reply(200, b"a,b\n3,4\n"))

    read = []
    for part in conn.result_parts(job):
        with conn.open_part(job, part) as stream:
            read.append(b"".join(stream.iter_bytes()))

    assert read == [b"a,b\n1,2\n", b"a,b\n3,4\n"]
    assert [seen.authorized for seen in upstream.seen] == [False, False]


def test_a_part_on_a_host_the_spec_does_not_allow_is_refused_before_any_request(
    upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORTS_ALLOW_LOOPBACK_UPSTREAMS", "false")
    conn = connector(upstream)
    job = JobStatus(
        "op-1",
        JobState.SUCCEEDED,
        "Completed",
        parts=(ResultPart("https://files.elsewhere.example/x"), ResultPart(f"http://localhost:{upstream.port}/x")),
    )

    with pytest.raises(UpstreamError) as caught, conn.open_part(job, job.parts[0]):
        pass
    with pytest.raises(UpstreamError) as on_this_machine, conn.open_part(job, job.parts[1]):
        pass

    assert caught.value.kind is ErrorKind.PERMANENT
    assert "does not allow" in caught.value.message
    assert on_this_machine.value.kind is ErrorKind.PERMANENT
    assert "EXPORTS_ALLOW_LOOPBACK_UPSTREAMS" in on_this_machine.value.message  # the address rule comes first
    assert upstream.seen == []


def test_a_location_on_another_origin_is_never_polled_with_the_token(upstream: Upstream) -> None:
    upstream.on("POST", CREATE, accepted("https://elsewhere.example/op-1"))

    with pytest.raises(UpstreamError) as caught:
        connector(upstream).start_job()

    assert caught.value.kind is ErrorKind.PERMANENT
    assert "not on the API origin" in caught.value.message
    foreign = JobStatus("op-1", JobState.RUNNING, "x", job_ref="https://elsewhere.example/op-1")
    with pytest.raises(UpstreamError, match="not on the API origin"):
        connector(upstream).check_job(foreign)
    assert len(upstream.seen) == 1  # the create only


@pytest.mark.parametrize(
    ("reply", "expected"),
    [(Reply(204), JobState.NO_DATA), (accepted(), JobState.RUNNING)],
    ids=["204 on create", "202 then NoDataFound"],
)
def test_no_data_is_a_success_with_nothing_to_store(upstream: Upstream, reply: Reply, expected: JobState) -> None:
    upstream.on("POST", CREATE, reply)
    upstream.on("GET", OPERATION, Reply(200, {"id": "op-1", "status": "NoDataFound"}))
    conn = connector(upstream)

    job = conn.start_job()
    assert job.state is expected
    if job.state.is_active:
        job = conn.check_job(job)

    assert job.state is JobState.NO_DATA
    assert job.state.is_success
    assert job.parts == ()


def test_an_unknown_status_value_reads_as_running_and_is_logged(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    upstream.on("GET", OPERATION, Reply(200, {"id": "op-1", "status": "Queued"}))
    job = JobStatus("op-1", JobState.RUNNING, "x", job_ref=f"{upstream.base_url}{OPERATION}")

    status = connector(upstream).check_job(job)

    assert status.state is JobState.UNKNOWN
    assert "Queued" in caplog.text


def test_a_failed_cleanup_is_retried_once_and_reported_never_raised(upstream: Upstream) -> None:
    cleanup = CleanupSpec(request=RequestSpec(method="DELETE", url="job_ref"), when=["after_store", "on_cancel"])
    conn = connector(upstream, SPEC.model_copy(update={"cleanup": [cleanup]}))
    job = JobStatus("op-1", JobState.SUCCEEDED, "Completed", job_ref=f"{upstream.base_url}{OPERATION}")
    for _ in range(2):
        upstream.on("DELETE", OPERATION, Reply(500, {"error": {"code": "Boom", "message": "try later"}}))

    outcome = conn.cleanup(job, "after_store")
    nothing = conn.cleanup(job, "on_deadline")

    assert outcome.sent
    assert outcome.error is not None
    assert "try later" in outcome.error
    assert [seen.method for seen in upstream.seen] == ["DELETE", "DELETE"]
    assert (nothing.sent, nothing.error) == (False, None)


def living(name: str) -> Any:
    return load_spec(Path(__file__).resolve().parents[3] / "connectors" / "specs" / f"{name}.yaml")


def read_all(conn: SpecConnector, job: JobStatus) -> list[tuple[str | None, str, bytes]]:
    return [(part.name, stream.content_type, b"".join(stream.iter_bytes())) for part, stream in conn.iter_result(job)]


def test_pages_behind_a_header_cursor_are_read_in_order_until_the_last_says_null(upstream: Upstream) -> None:
    spec = living("salesforce_bulk_query")
    conn = SpecConnector(
        spec, upstream.base_url, {"query": "SELECT Id FROM Account"}, StaticTokenProvider("T", {"T": TOKEN})
    )
    upstream.on(
        "GET", "/services/data/v62.0/jobs/query/750x/results", Reply(200, b"Id\n1\n", {"Sforce-Locator": "c2Vjb25k"})
    )
    upstream.on(
        "GET", "/services/data/v62.0/jobs/query/750x/results", Reply(200, b"Id\n2\n", {"Sforce-Locator": "null"})
    )

    pages = read_all(conn, JobStatus("750x", JobState.SUCCEEDED, "JobComplete"))

    assert [body for _, _, body in pages] == [b"Id\n1\n", b"Id\n2\n"]
    assert [seen.path for seen in upstream.seen] == [
        "/services/data/v62.0/jobs/query/750x/results",
        "/services/data/v62.0/jobs/query/750x/results?locator=c2Vjb25k",
    ]
    assert all(seen.authorized for seen in upstream.seen)


def test_pages_linked_from_the_body_are_followed_on_the_origin_only(upstream: Upstream) -> None:
    paging = PaginationSpec(kind="body_next_link", next_link='"@odata.nextLink"')
    result = SPEC.result.model_copy(update={"parts": None, "path": "records", "pagination": paging})
    spec = SPEC.model_copy(update={"result": result})
    conn = connector(upstream, spec)
    upstream.on(
        "GET", "/records", Reply(200, {"value": [1], "@odata.nextLink": "http://127.0.0.1:{port}/records?page=2"})
    )
    upstream.on(
        "GET",
        "/records?page=2",
        Reply(200, {"value": [2], "@odata.nextLink": "https://elsewhere.example/records?page=3"}),
    )

    job = JobStatus("op-1", JobState.SUCCEEDED, "Completed")
    with pytest.raises(UpstreamError) as caught:
        pages = [json.loads(body)["value"] for _, _, body in read_all(conn, job)]

    assert caught.value.kind is ErrorKind.PERMANENT  # the third page is on a host the spec does not allow
    assert [seen.path for seen in upstream.seen] == ["/records", "/records?page=2"]
    upstream.on("GET", "/records", Reply(200, {"value": [1]}))
    pages = [json.loads(body)["value"] for _, _, body in read_all(conn, job)]
    assert pages == [[1]]


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def intune(upstream: Upstream, max_export_bytes: int | None = None) -> SpecConnector:
    params = {"report_name": "Devices", "select": ["DeviceName"]}
    tokens = StaticTokenProvider("T", {"T": TOKEN})
    return SpecConnector(
        living("intune_report_export"), upstream.base_url, params, tokens, max_export_bytes=max_export_bytes
    )


def test_a_zip_result_is_unpacked_while_streaming_one_part_per_member_without_the_token(upstream: Upstream) -> None:
    upstream.on("GET", "/sas/report.zip", Reply(200, zipped({"Devices.csv": b"DeviceName\npc-1\n", "notes.txt": b"x"})))
    job = JobStatus(
        "Devices_1", JobState.SUCCEEDED, "completed", download_url=f"http://localhost:{upstream.port}/sas/report.zip"
    )

    parts = read_all(intune(upstream), job)

    assert parts == [("Devices.csv", "text/csv", b"DeviceName\npc-1\n"), ("notes.txt", "text/csv", b"x")]
    assert [seen.authorized for seen in upstream.seen] == [False]


def test_a_zip_bomb_is_refused_by_the_export_size_limit(upstream: Upstream) -> None:
    upstream.on("GET", "/sas/report.zip", Reply(200, zipped({"Devices.csv": b"0" * 5_000_000})))
    job = JobStatus(
        "Devices_1", JobState.SUCCEEDED, "completed", download_url=f"http://localhost:{upstream.port}/sas/report.zip"
    )

    with pytest.raises(UpstreamError) as caught:
        read_all(intune(upstream, max_export_bytes=1_000_000), job)

    assert caught.value.kind is ErrorKind.PERMANENT
    assert "max_export_bytes" in caught.value.message


def test_a_result_that_is_not_a_zip_is_refused(upstream: Upstream) -> None:
    upstream.on("GET", "/sas/report.zip", Reply(200, b"DeviceName\npc-1\n"))
    job = JobStatus(
        "Devices_1", JobState.SUCCEEDED, "completed", download_url=f"http://localhost:{upstream.port}/sas/report.zip"
    )

    with pytest.raises(UpstreamError, match="not a readable zip"):
        read_all(intune(upstream), job)


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/op\x00-1",  # a control character
        "http://user:secret@127.0.0.1:{port}/op-1",  # credentials in the URL
        "ftp://127.0.0.1:{port}/op-1",  # not http(s)
        "http://127.0.0.1:{port}/" + "x" * 9000,  # longer than any URL we follow
    ],
    ids=["control character", "credentials", "scheme", "length"],
)
def test_a_hostile_location_is_refused_before_it_is_polled(upstream: Upstream, location: str) -> None:
    upstream.on("POST", CREATE, accepted(location))

    with pytest.raises(UpstreamError) as caught:
        connector(upstream).start_job()

    assert caught.value.kind in (ErrorKind.PERMANENT, ErrorKind.TRANSIENT)
    assert "secret" not in str(caught.value)
    assert [seen.method for seen in upstream.seen] == ["POST"]


def test_a_hostile_page_cursor_is_refused_rather_than_sent(upstream: Upstream) -> None:
    spec = living("salesforce_bulk_query")
    conn = SpecConnector(
        spec, upstream.base_url, {"query": "SELECT Id FROM Account"}, StaticTokenProvider("T", {"T": TOKEN})
    )
    upstream.on(
        "GET", "/services/data/v62.0/jobs/query/750x/results", Reply(200, b"Id\n1\n", {"Sforce-Locator": "c" * 3000})
    )

    with pytest.raises(UpstreamError, match="unusable page cursor"):
        read_all(conn, JobStatus("750x", JobState.SUCCEEDED, "JobComplete"))

    assert len(upstream.seen) == 1


def test_part_names_and_sizes_from_the_upstream_are_bounded_and_redacted(upstream: Upstream) -> None:
    upstream.on("POST", CREATE, accepted())
    name = f"Bearer {TOKEN} " + "n" * 500
    blobs = [
        {"blobLink": "http://localhost:{port}/a.csv", "byteCount": -5, "name": name},
        {"blobLink": "http://localhost:{port}/b.csv", "byteCount": True},
    ]
    upstream.on("GET", OPERATION, Reply(200, {"status": "Completed", "manifest": {"blobs": blobs}}))
    parts_spec = SPEC.result.parts.model_copy(update={"name": "name"})  # type: ignore[union-attr]
    conn = connector(upstream, SPEC.model_copy(update={"result": SPEC.result.model_copy(update={"parts": parts_spec})}))

    done = conn.check_job(conn.start_job())

    assert [part.size for part in done.parts] == [None, None]
    first = done.parts[0].name or ""
    assert TOKEN not in first
    assert len(first) <= 200
