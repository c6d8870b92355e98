"""Each living export API end to end through the CLI (`python -m local run TARGET --targets FILE`, its main()),
against its simulated API and Azurite: the stored parts, the manifest, latest.json, the event and the upstream's
cleanup call. Plus, per API, the misreading the vendor's documents rule out, which must fail here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.cli import run_main
from local.simulator import Simulator
from tests.support import storage
from tests.support.targets import cost_raw, intune_raw, powerbi_raw, salesforce_raw

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]


def run(tmp_path: Path, raw: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": [raw]}))
    code = run_main([raw["name"], "--targets", str(path), "--timer-scale", "0.001"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def stored_parts(manifest: dict[str, Any]) -> list[bytes]:
    names = [part["name"] for part in manifest["parts"]] or ([manifest["blob"]["name"]] if manifest["blob"] else [])
    return [storage.container().download_blob(name).readall() for name in names]


def test_cost_details_stores_every_part_of_the_report_in_order(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.config.cost_parts = 3
    code, summary = run(tmp_path, cost_raw(simulator), capsys)

    assert code == 0, summary
    manifest = storage.read_json(summary["manifest"])
    assert manifest["schema_version"] == 2
    assert [part["name"].rsplit("/", 1)[1] for part in manifest["parts"]] == [
        "part-00001.csv",
        "part-00002.csv",
        "part-00003.csv",
    ]
    bodies = stored_parts(manifest)
    assert all(body.startswith(b"InvoiceSectionName,") for body in bodies)  # each part is a CSV with its header
    assert [len(body) for body in bodies] == [part["size"] for part in manifest["parts"]]
    assert manifest["records"] == {"format": "csv", "path": None}
    assert storage.read_json("costs/latest.json") == manifest
    assert (summary["parts"], summary["bytes"]) == (3, sum(len(body) for body in bodies))
    event = summary["event"]["data"]
    assert (event["parts"], event["manifest"]) == (3, summary["manifest"])
    downloads = [r for r in simulator.stats.requests if r.route == "cost.download"]
    assert len(downloads) == 3
    assert not any(r.had_authorization for r in downloads)  # the SAS links are fetched without the token


def test_cost_details_no_data_is_a_success_with_an_empty_manifest(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.config.cost_no_data_on_create = True
    code, summary = run(tmp_path, cost_raw(simulator), capsys)

    assert code == 0, summary
    manifest = storage.read_json(summary["manifest"])
    assert (manifest["no_data"], manifest["parts"], manifest["blob"]) == (True, [], None)
    assert summary["event"]["data"]["no_data"] is True
    assert summary["event"]["data"]["parts"] == 0


def test_cost_details_no_data_found_on_the_operation_is_a_success_too(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.config.cost_no_data_on_status = True
    code, summary = run(tmp_path, cost_raw(simulator), capsys)

    assert code == 0, summary
    assert storage.read_json(summary["manifest"])["no_data"] is True


def test_cost_details_location_is_polled_on_the_api_origin_with_the_token(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Location is a full URL on the API's own origin: read as a foreign URL it would be polled without the
    token (401) or refused, and the export would fail."""
    code, summary = run(tmp_path, cost_raw(simulator), capsys)

    assert code == 0, summary
    polls = [r for r in simulator.stats.requests if r.route == "cost.status"]
    assert polls
    assert all(r.had_authorization and r.status in (200, 202) for r in polls)


def test_powerbi_waits_through_202_and_stores_the_file(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Power BI answers 202 while the export runs: failing on it (as an unexpected status) would be a misreading."""
    code, summary = run(tmp_path, powerbi_raw(simulator), capsys)

    assert code == 0, summary
    statuses = [r.status for r in simulator.stats.requests if r.route == "pbi.status"]
    assert 202 in statuses
    manifest = storage.read_json(summary["manifest"])
    assert manifest["blob"]["name"].endswith("/content.csv")
    assert manifest["parts"] == []
    assert stored_parts(manifest)[0]
    assert storage.read_json("sales-report/latest.json") == manifest
    assert summary["event"]["data"]["blob"]["sha256"] == manifest["blob"]["sha256"]


def test_powerbi_failed_with_retry_after_is_created_again_after_the_servers_wait(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.config.powerbi_busy_failures = 1
    simulator.config.powerbi_busy_retry_after_s = 20
    code, summary = run(tmp_path, powerbi_raw(simulator), capsys)

    assert code == 0, summary
    creates = [r for r in simulator.stats.requests if r.route == "pbi.create"]
    assert len(creates) == 2
    assert summary["recreations"] == 1


def test_intune_unzips_the_report_into_a_part_and_deletes_the_job_afterwards(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, summary = run(tmp_path, intune_raw(simulator), capsys)

    assert code == 0, summary
    manifest = storage.read_json(summary["manifest"])
    assert len(manifest["parts"]) == 1
    part = manifest["parts"][0]
    assert part["name"].endswith("/part-00001.csv")
    assert part["upstream_name"].endswith(".csv")  # the zip member's own name
    body = stored_parts(manifest)[0]
    assert body.startswith(b"DeviceId,DeviceName,OS")
    deletes = [r for r in simulator.stats.requests if r.route == "intune.delete"]
    assert len(deletes) == 1
    assert deletes[0].status in (200, 204)
    assert manifest["cleanup"] == {"sent": True, "error": None}
    assert summary["event"]["data"]["cleanup"] == {"sent": True, "error": None}
    assert storage.read_json("devices/latest.json")["cleanup"] == {"sent": True, "error": None}
    downloads = [r for r in simulator.stats.requests if r.route == "intune.download"]
    assert downloads
    assert not any(r.had_authorization for r in downloads)


def test_intune_an_unknown_status_is_waited_out_as_running(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """`unknown` is one of Intune's documented values (the sentinel expiry's test is in test_living_specs.py)."""
    simulator.config.intune_unknown_polls = 1
    code, summary = run(tmp_path, intune_raw(simulator), capsys)

    assert code == 0, summary
    assert summary["recreations"] == 0
    assert len([r for r in simulator.stats.requests if r.route == "intune.create"]) == 1


def test_intune_a_failed_cleanup_is_recorded_and_never_fails_the_export(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.inject("intune.delete", status=503, count=2)
    code, summary = run(tmp_path, intune_raw(simulator), capsys)

    assert code == 0, summary
    manifest = storage.read_json(summary["manifest"])
    assert manifest["cleanup"]["sent"] is True
    assert "503" in manifest["cleanup"]["error"]
    assert summary["event"]["data"]["cleanup"]["error"]
    assert len([r for r in simulator.stats.requests if r.route == "intune.delete"]) == 2  # retried once


def test_salesforce_reads_every_page_until_the_locator_says_null_and_deletes_the_job(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """25 records in pages of 10: stopping at the first page (ignoring Sforce-Locator) would store 10."""
    simulator.config.salesforce_records = 25
    simulator.config.salesforce_page_records = 10
    code, summary = run(tmp_path, salesforce_raw(simulator), capsys)

    assert code == 0, summary
    manifest = storage.read_json(summary["manifest"])
    assert [part["name"].rsplit("/", 1)[1] for part in manifest["parts"]] == [
        "part-00001.csv",
        "part-00002.csv",
        "part-00003.csv",
    ]
    rows = [line for body in stored_parts(manifest) for line in body.decode().splitlines()[1:] if line]
    assert len(rows) == 25
    assert [r.route for r in simulator.stats.requests if r.route == "sf.results"] == ["sf.results"] * 3
    deletes = [r for r in simulator.stats.requests if r.route == "sf.delete"]
    assert [r.status for r in deletes] == [204]
    assert manifest["cleanup"] == {"sent": True, "error": None}
    assert summary["event"]["data"]["parts"] == 3


def test_salesforce_an_instance_url_off_the_allowed_hosts_never_gets_the_token(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.config.salesforce_instance_url = "https://attacker.example.com"
    code, summary = run(tmp_path, salesforce_raw(simulator), capsys)

    assert code == 1
    assert "attacker.example.com" in summary["error"]
    assert "no token was sent there" in summary["error"]
    assert not [r for r in simulator.stats.requests if r.route == "sf.create"]
