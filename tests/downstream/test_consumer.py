"""Downstream: after a real local run, the consumer reads the event, streams the blob and verifies it."""

from __future__ import annotations

import json
import uuid

import pytest

from downstream import ChecksumMismatch, iter_records, latest_manifest
from downstream.consumer import consume_envelope, consume_event
from local.cli import run_export
from local.simulator import Simulator, expected_content
from tests.support import storage
from tests.support.targets import sailpoint_target, viva_target

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]


def test_consumer_streams_and_verifies_both_kinds_of_export(simulator: Simulator) -> None:
    simulator.config.content_size = 3 * 1024 * 1024
    for target in (viva_target(simulator), sailpoint_target(simulator)):
        assert run_export(target, run_key=uuid.uuid4().hex, timer_scale=0.001).status == "Completed"
    consumed = [consume_event(json.dumps(event)) for event in storage.events()]
    by_target = {c.target: c for c in consumed}
    assert {c.outcome for c in consumed} == {"succeeded"}
    job_id = next(e["data"]["job_id"] for e in storage.events() if e["data"]["target"] == "goals")
    lines = sum(c.count(b"\n") for c in expected_content("graph", job_id, simulator.config.content_size))
    assert by_target["goals"].records == lines - 1  # every line but the header is a row
    assert by_target["spconfig"].records
    assert by_target["spconfig"].records > 1000


def test_latest_json_leads_to_the_newest_export_rows(simulator: Simulator) -> None:
    run_export(viva_target(simulator), run_key="one", timer_scale=0.001)
    manifest = latest_manifest(storage.container(), "goals")
    first = next(iter_records(storage.container(), manifest))
    assert set(first) == {"Title", "Owner", "Progress", "Status", "Due date", "Row"}


def test_a_tampered_blob_is_detected(simulator: Simulator) -> None:
    run_export(viva_target(simulator), run_key="one", timer_scale=0.001)
    manifest = latest_manifest(storage.container(), "goals")
    assert manifest.blob is not None
    storage.container().upload_blob(manifest.blob.name, b"Title\nchanged\n", overwrite=True)
    with pytest.raises(ChecksumMismatch):
        list(iter_records(storage.container(), manifest))


def test_a_failure_event_is_reported_not_read(simulator: Simulator) -> None:
    simulator.config.organizations = {}
    run_export(viva_target(simulator), run_key="x", timer_scale=0.001)
    [event] = storage.events()
    assert consume_event(json.dumps(event)).outcome == "failed"


@pytest.mark.parametrize(
    "envelope",
    [["not", "an", "object"], {"id": 7, "data": {}}, {"id": "e", "data": ["x"]}, {"id": "e", "data_base64": "AA=="}],
    ids=["array", "numeric id", "array data", "binary data"],
)
def test_an_envelope_that_is_not_an_export_event_is_refused(envelope: object) -> None:
    with pytest.raises(ValueError, match="not an export event"):
        consume_envelope(envelope)
