"""Exports against an upstream that ECHOES the bearer token inside a job id or a download location, then a scan of
everything a run leaves behind: histories, custom status, output, error, events, blobs, the CLI summary, logs.

The connectors refuse such an id or location where it enters (a permanent error naming what was refused), so the
token never reaches a manifest, latest.json, a history or an event, in any encoding the redaction knows.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable
from urllib.parse import quote

import pytest

from local.cli import run_export, summary
from local.simulator import GRAPH_FIXTURE_TOKEN
from targets import parse_targets
from tests.support import storage
from tests.support.hostile_upstream import Reply, Request, Scenario, graph_job, hostile_upstream
from tests.support.targets import viva_raw

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]
FORMS: dict[str, Callable[[str], str]] = {
    "as-is": lambda token: token,
    "percent-encoded-lower-hex": lambda token: quote(token, safe="").lower(),
    "upper-case": str.upper,
    "base64": lambda token: base64.b64encode(token.encode()).decode(),
}


def echo_in_job_id(form: str) -> Scenario:
    def scenario(request: Request, reply: Reply) -> None:
        reply.json(201 if request.method == "POST" else 200, graph_job(f"j!{FORMS[form](request.bearer)}"))

    return scenario


def echo_in_location(form: str) -> Scenario:
    def scenario(request: Request, reply: Reply) -> None:
        if request.method == "POST":
            reply.json(201, graph_job("j!1", "notStarted"))
        else:
            location = f"http://127.0.0.1:1/content?sig={FORMS[form](request.bearer)}"
            reply.json(200, graph_job("j!1", "succeeded", resourceLocation=location))

    return scenario


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("echo", "refused"), [(echo_in_job_id, "job id"), (echo_in_location, "download location")])
def test_a_bearer_token_echoed_in_a_job_id_or_location_is_refused_and_stored_nowhere(
    echo: Callable[[str], Scenario], refused: str, form: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with hostile_upstream(echo(form)) as upstream:
        raw = {**viva_raw(upstream.graph_base_url), "poll": {"floor_s": 1, "ceiling_s": 5, "deadline_s": 30}}
        target = parse_targets({"targets": [raw]})["goals"]
        result = run_export(target, run_key=uuid.uuid4().hex, timer_scale=0.001)
    assert result.status == "Failed"
    assert f"{refused} that holds the credential sent to it" in (result.error or "")
    blobs = [storage.read_json(n) for n in storage.blob_names() if n.endswith(".json")]
    haystack = (
        json.dumps([result.histories, result.custom_status, result.output, result.error, storage.events(), blobs])
        + json.dumps(summary(target, result))
        + caplog.text
    )
    for shape in FORMS.values():
        assert shape(GRAPH_FIXTURE_TOKEN) not in haystack
    assert storage.events()[0]["data"]["job_id"] in (None, "j!1")
