"""The seed classes and their specs, side by side on the simulator: the same calls give the same answers.

Why: the classes are deleted once the registry runs the specs, and every behaviour they have must survive. Each
scenario runs twice, on two fresh simulators with the same configuration, once through the class and once
through the spec connector; what each call answered (the job status, or the error's kind, status, code and
message) is recorded with job ids and origins replaced by stable names, and the two records must be equal.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from connectors.base import ExportConnector, JobStatus, UpstreamError
from connectors.envelopes import parse_sailpoint_error
from connectors.sailpoint import SailPointConnector, SailPointParams
from connectors.spec.engine import SpecConnector
from connectors.spec.loader import load_specs
from connectors.viva_goals import VivaGoalsConnector, VivaGoalsParams
from credentials.client_credentials import ClientCredentialsTokenProvider
from credentials.static_token import StaticTokenProvider
from local.simulator import (
    GRAPH_FIXTURE_TOKEN,
    SAILPOINT_FIXTURE_CLIENT,
    SAILPOINT_FIXTURE_SECRET,
    Simulator,
    SimulatorConfig,
    run_simulator,
)
from tests.connectors.hostile import FIXTURE_JWT
from tests.support.content import expected_sha256
from tests.support.targets import ORG, VIEW

pytestmark = pytest.mark.integration
SPECS = load_specs()
Build = Callable[..., ExportConnector]


@dataclass
class Record:
    """What one side answered, with upstream ids and origins named in order of appearance."""

    sim: Simulator
    events: list[tuple[str, Any]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def name(self, job_id: str) -> str:
        return self.names.setdefault(job_id, f"<job {len(self.names) + 1}>")

    def plain(self, text: str | None) -> str | None:
        if text is None:
            return None
        for job_id, name in self.names.items():
            text = text.replace(job_id, name).replace(job_id.replace("!", "%21"), name)
        port = self.sim.base_url.rsplit(":", 1)[-1]
        return re.sub(r"sig=[0-9a-f]+", "sig=<signature of the job id>", text.replace(port, "<port>"))

    def job(self, job: JobStatus) -> dict[str, Any]:
        self.name(job.job_id)
        return {
            "job": self.name(job.job_id),
            "state": job.state.value,
            "upstream_status": job.upstream_status,
            "retry_after_s": job.retry_after_s,
            "expires": job.expires_at is not None,
            "failure_reason": self.plain(job.failure_reason),
            "download_url": self.plain(job.download_url),
            "created": job.created_at is not None,
        }

    def call(self, label: str, step: Callable[[], Any]) -> Any:
        try:
            answer = step()
        except UpstreamError as error:
            self.events.append((label, self.error(error)))
            return None
        if isinstance(answer, JobStatus):
            self.events.append((label, self.job(answer)))
        elif isinstance(answer, list):
            self.events.append((label, [self.job(job) for job in answer]))
        else:
            self.events.append((label, answer))
        return answer

    def error(self, error: UpstreamError) -> dict[str, Any]:
        return {
            "kind": error.kind.value,
            "status": error.status_code,
            "code": error.code,
            "message": self.plain(error.message),
            "retry_after_s": error.retry_after_s,
            "existing": self.plain(error.existing_job_id),
        }


def viva(sim: Simulator, spec: bool, token: str = GRAPH_FIXTURE_TOKEN, org: str = ORG) -> ExportConnector:
    tokens = StaticTokenProvider("T", {"T": token})
    if spec:
        params = {"goals_organization_id": org, "explorer_view_id": VIEW}
        return SpecConnector(SPECS["viva_goals"], sim.graph_base_url, params, tokens)
    return VivaGoalsConnector(
        sim.graph_base_url, VivaGoalsParams(goals_organization_id=org, explorer_view_id=VIEW), tokens
    )


def sailpoint(sim: Simulator, spec: bool, secret: str = SAILPOINT_FIXTURE_SECRET, **params: Any) -> ExportConnector:
    tokens = ClientCredentialsTokenProvider(
        sim.sailpoint_token_url, SAILPOINT_FIXTURE_CLIENT, secret, parse_sailpoint_error
    )
    base = sim.sailpoint_base_url("v2025")
    if spec:
        return SpecConnector(SPECS["sailpoint_sp_config"], base, params, tokens)
    return SailPointConnector(base, SailPointParams.model_validate(params), tokens)


def poll_to_the_end(rec: Record, conn: ExportConnector, job: JobStatus | None, api: str) -> JobStatus | None:
    for index in range(6):
        if job is None or not job.state.is_active:
            break
        job = rec.call(f"poll {index}", partial(conn.get_job, job.job_id))
    if job is not None and job.download_url is not None:

        def download(done: JobStatus = job) -> tuple[str, bool]:
            with conn.open_content(done) as stream:
                body = b"".join(stream.iter_bytes())
            expected = expected_sha256(api, done.job_id, rec.sim.config.content_size)
            return stream.content_type, hashlib.sha256(body).hexdigest() == expected

        rec.call("download", download)
    return job


Scenario = Callable[[Simulator, Build, Record], None]


def viva_happy(wrap: bool, hyphen: bool) -> Scenario:
    def run(sim: Simulator, build: Build, rec: Record) -> None:
        sim.config.wrap_value, sim.config.hyphen_timestamps = wrap, hyphen
        conn = build(sim)
        poll_to_the_end(rec, conn, rec.call("create", conn.start_job), "graph")

    return run


def viva_adoption(quoted: bool) -> Scenario:
    def run(sim: Simulator, build: Build, rec: Record) -> None:
        sim.config.quoted_location = quoted
        conn = build(sim)
        rec.call("create", conn.start_job)
        rec.call("create again", conn.start_job)

    return run


def viva_conflict_without_id(sim: Simulator, build: Build, rec: Record) -> None:
    conn = build(sim)
    rec.call("create", conn.start_job)
    sim.inject("graph.create", status=409, body={"error": {"code": "notAllowed", "message": "busy"}})
    rec.call("create again", conn.start_job)


def viva_failed(sim: Simulator, build: Build, rec: Record) -> None:
    sim.config.fail_jobs = 1
    conn = build(sim)
    poll_to_the_end(rec, conn, rec.call("create", conn.start_job), "graph")


def echoing(scenario: Scenario) -> Scenario:
    """`scenario` with every free text of the simulator repeating the credentials it was sent."""

    def run(sim: Simulator, build: Build, rec: Record) -> None:
        sim.config.echo_credentials = True
        scenario(sim, build, rec)

    return run


def viva_unknown_org(sim: Simulator, build: Build, rec: Record) -> None:
    rec.call("create", build(sim, org="11111111-2222-3333-4444-555555555555").start_job)


def viva_unknown_and_malformed_jobs(sim: Simulator, build: Build, rec: Record) -> None:
    conn = build(sim)
    rec.call("unknown", lambda: conn.get_job("j!eyJpZCI6IjEyMyJ9"))
    rec.call("malformed", lambda: conn.get_job("j!not base64/../x"))
    rec.call("dots", lambda: conn.get_job(".."))


def viva_read_only_token(sim: Simulator, build: Build, rec: Record) -> None:
    rec.call("create", build(sim, token=sim.issue_graph_token(["Goals-Export.Read.All"])).start_job)


def viva_other_origin(sim: Simulator, build: Build, rec: Record) -> None:
    sim.config.content_host = "localhost"
    conn = build(sim)
    poll_to_the_end(rec, conn, rec.call("create", conn.start_job), "graph")
    rec.events.append(("content had a token", [r.had_authorization for r in sim.stats.requests_for("graph.content")]))


def viva_unknown_status(sim: Simulator, build: Build, rec: Record) -> None:
    conn = build(sim)
    job = rec.call("create", conn.start_job)
    sim.inject("graph.get", status=200, body={"id": job.job_id, "status": "unknownFutureValue"})
    rec.call("poll", lambda: conn.get_job(job.job_id))
    sim.inject("graph.get", status=200, body={"status": "running"})
    rec.call("poll without id", lambda: conn.get_job(job.job_id))


def viva_expired(sim: Simulator, build: Build, rec: Record) -> None:
    conn = build(sim)
    job = poll_to_the_end(rec, conn, rec.call("create", conn.start_job), "graph")
    assert job is not None
    sim.expire(job.job_id)

    def download() -> None:
        with conn.open_content(job):
            pass

    rec.call("download after expiry", download)


def viva_own_jobs(sim: Simulator, build: Build, rec: Record) -> None:
    conn = build(sim)
    job = rec.call("create", conn.start_job)
    now = datetime.now(UTC)
    rec.call("own jobs", lambda: conn.find_own_jobs(now - timedelta(minutes=1)))
    rec.call("none before the run", lambda: conn.find_own_jobs(now + timedelta(hours=1)))
    assert job is not None


def throttled(route: str, status: int, retry_after: str | None) -> Scenario:
    def run(sim: Simulator, build: Build, rec: Record) -> None:
        sim.inject(route, status=status, retry_after=retry_after)
        rec.call("create", build(sim).start_job)

    return run


def refused_twice(route: str) -> Scenario:
    def run(sim: Simulator, build: Build, rec: Record) -> None:
        conn = build(sim)
        job = rec.call("create", conn.start_job)
        sim.inject(route, status=401, count=2)
        rec.call("poll", lambda: conn.get_job(job.job_id))

    return run


def echoed_token(route: str, envelope: Callable[[str], Any]) -> Scenario:
    def run(sim: Simulator, build: Build, rec: Record) -> None:
        conn = build(sim)
        job = rec.call("create", conn.start_job)
        sim.inject(route, status=400, body=envelope(f"token {GRAPH_FIXTURE_TOKEN} claims {FIXTURE_JWT}"))
        rec.call("poll", lambda: conn.get_job(job.job_id))

    return run


def sailpoint_happy(sim: Simulator, build: Build, rec: Record) -> None:
    conn = build(sim, include_types=["RULE", "SOURCE"], description="nightly")
    poll_to_the_end(rec, conn, rec.call("create", conn.start_job), "sailpoint")


def sailpoint_failed(sim: Simulator, build: Build, rec: Record) -> None:
    sim.config.fail_jobs = 1
    conn = build(sim)
    poll_to_the_end(rec, conn, rec.call("create", conn.start_job), "sailpoint")


def sailpoint_errors(sim: Simulator, build: Build, rec: Record) -> None:
    rec.call("unknown job", lambda: build(sim).get_job("ef38f94347e94562b5bb8424a56397d8"))
    rec.call("bad secret", build(sim, secret="wrong-secret").start_job)
    sim.inject("sp.token", status=429, retry_after=60)
    rec.call("token throttled", build(sim).start_job)
    body = {"detailCode": "400.1 Bad Request Content", "messages": [{"text": "Supplied types are not supported"}]}
    sim.inject("sp.create", status=400, body=body)
    rec.call("types refused", build(sim).start_job)
    sim.inject("sp.create", status=409, body={"messages": [{"text": "busy"}]})
    rec.call("conflict", build(sim).start_job)


def sailpoint_rate_limit_and_statuses(sim: Simulator, build: Build, rec: Record) -> None:
    sim.config.rate_limit_requests = 4
    conn = build(sim)
    job = rec.call("create", conn.start_job)
    sim.inject("sp.status", status=200, body={"jobId": job.job_id, "status": "PAUSED", "type": "EXPORT"})
    rec.call("paused", lambda: conn.get_job(job.job_id))
    sim.inject("sp.status", status=200, body={"jobId": job.job_id, "status": "complete", "type": "EXPORT"})
    rec.call("lower case", lambda: conn.get_job(job.job_id))
    for index in range(2):
        rec.call(f"poll {index}", lambda: conn.get_job(job.job_id))


def sailpoint_expired(sim: Simulator, build: Build, rec: Record) -> None:
    conn = build(sim)
    job = poll_to_the_end(rec, conn, rec.call("create", conn.start_job), "sailpoint")
    assert job is not None
    sim.expire(job.job_id)

    def download() -> None:
        with conn.open_content(job):
            pass

    rec.call("download after expiry", download)


def graph_envelope(message: str) -> Any:
    return {"error": {"code": "badRequest", "message": message}}


def sailpoint_envelope(message: str) -> Any:
    return {"detailCode": "400.1 Bad request content", "messages": [{"text": message}]}


SCENARIOS: dict[str, tuple[Callable[..., ExportConnector], Scenario]] = {
    **{f"viva happy wrap={w} hyphen={h}": (viva, viva_happy(w, h)) for w in (False, True) for h in (False, True)},
    "viva 409 adopts": (viva, viva_adoption(False)),
    "viva 409 adopts quoted Location": (viva, viva_adoption(True)),
    "viva 409 without id is permanent": (viva, viva_conflict_without_id),
    "viva failed job": (viva, viva_failed),
    "viva unknown organization": (viva, viva_unknown_org),
    "viva failed job echoing credentials": (viva, echoing(viva_failed)),
    "viva unknown organization echoing credentials": (viva, echoing(viva_unknown_org)),
    "viva unknown and malformed jobs": (viva, viva_unknown_and_malformed_jobs),
    "viva read-only token": (viva, viva_read_only_token),
    "viva result on another origin": (viva, viva_other_origin),
    "viva unknown status": (viva, viva_unknown_status),
    "viva expired": (viva, viva_expired),
    "viva own jobs": (viva, viva_own_jobs),
    "viva 429": (viva, throttled("graph.create", 429, "7")),
    "viva 503": (viva, throttled("graph.create", 503, None)),
    "viva 401 twice": (viva, refused_twice("graph.get")),
    "viva echoed token": (viva, echoed_token("graph.get", graph_envelope)),
    "sailpoint happy": (sailpoint, sailpoint_happy),
    "sailpoint failed job": (sailpoint, sailpoint_failed),
    "sailpoint errors": (sailpoint, sailpoint_errors),
    "sailpoint failed job echoing credentials": (sailpoint, echoing(sailpoint_failed)),
    "sailpoint errors echoing credentials": (sailpoint, echoing(sailpoint_errors)),
    "sailpoint rate limit and statuses": (sailpoint, sailpoint_rate_limit_and_statuses),
    "sailpoint expired": (sailpoint, sailpoint_expired),
    "sailpoint 429": (sailpoint, throttled("sp.create", 429, "7")),
    "sailpoint 503": (sailpoint, throttled("sp.create", 503, None)),
    "sailpoint 401 twice": (sailpoint, refused_twice("sp.status")),
    "sailpoint echoed token": (sailpoint, echoed_token("sp.status", sailpoint_envelope)),
}


def record(build: Callable[..., ExportConnector], scenario: Scenario, spec: bool) -> list[tuple[str, Any]]:
    with run_simulator(SimulatorConfig()) as sim:
        rec = Record(sim)
        scenario(sim, lambda s, **kw: build(s, spec, **kw), rec)
        return rec.events


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_spec_connector_answers_every_scenario_as_the_class_does(name: str) -> None:
    build, scenario = SCENARIOS[name]

    by_class = record(build, scenario, spec=False)
    by_spec = record(build, scenario, spec=True)

    assert by_spec == by_class
    assert by_class  # the scenario did something
