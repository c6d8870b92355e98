"""Claims in Azurite: lane n's k-th claim answers the same every time, K lanes at once never share an export."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.storage.blob import ContainerClient

from sinks import claim_book
from sinks.claim_book import NONE, ClaimError
from sinks.storage_clients import StorageSettings
from versioned import UnsupportedVersion

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]


def container() -> ContainerClient:
    return StorageSettings.from_env().container_client()


def plan(count: int) -> list[dict[str, str]]:
    return [{"instance_id": f"export-t{n}", "target": f"t{n}"} for n in range(count)]


def test_a_repeated_claim_gets_the_same_export_and_takes_nothing_more() -> None:
    box = container()
    claim_book.open_plan(box, "p1", plan(3))
    assert claim_book.claim(box, "p1", 0, 0, None) == 0
    assert claim_book.claim(box, "p1", 0, 0, None) == 0  # the activity ran twice: the same answer
    assert claim_book.claim(box, "p1", 1, 0, None) == 1
    assert claim_book.export_at(box, "p1", 1)["instance_id"] == "export-t1"


def test_lanes_claiming_at_once_share_no_export_and_miss_none() -> None:
    box = container()
    claim_book.open_plan(box, "p2", plan(40))

    def lane(n: int) -> list[int]:
        got, k, previous = [], 0, None
        while (index := claim_book.claim(box, "p2", n, k, previous)) != NONE:
            got.append(index)
            previous, k = {"index": index, "outcome": "succeeded"}, k + 1
        return got

    with ThreadPoolExecutor(8) as pool:
        claimed = [i for got in pool.map(lane, range(8)) for i in got]
    assert sorted(claimed) == list(range(40))
    assert claim_book.close_plan(box, "p2") == {f"export-t{n}": "succeeded" for n in range(40)}


def test_reopening_the_recorded_plan_keeps_its_claims() -> None:
    box = container()
    claim_book.open_plan(box, "p3", plan(2))
    assert claim_book.claim(box, "p3", 0, 0, None) == 0
    claim_book.open_plan(box, "p3", plan(2))  # the plan activity ran again
    assert claim_book.claim(box, "p3", 1, 0, None) == 1


def test_a_closed_plan_gives_nothing_new_but_answers_recorded_claims_as_recorded() -> None:
    box = container()
    claim_book.open_plan(box, "p4", plan(5))
    assert claim_book.claim(box, "p4", 0, 0, None) == 0
    claim_book.close_plan(box)
    assert claim_book.claim(box, "p4", 0, 0, None) == 0
    assert claim_book.claim(box, "p4", 1, 0, None) == NONE


def test_a_lane_of_a_replaced_plan_claims_nothing_and_a_skipped_claim_is_refused() -> None:
    box = container()
    claim_book.open_plan(box, "old", plan(5))
    claim_book.open_plan(box, "new", plan(5))
    assert claim_book.claim(box, "old", 0, 0, None) == NONE
    with pytest.raises(ClaimError, match="claimed #2 before #0"):
        claim_book.claim(box, "new", 0, 2, None)


def test_a_book_of_the_previous_release_without_a_version_still_answers() -> None:
    box = container()
    box.upload_blob(claim_book.PLAN_BLOB, json.dumps({"plan_id": "p9", "exports": plan(2)}).encode(), overwrite=True)
    claims = {"plan_id": "p9", "count": 2, "next": 1, "lanes": {"0": [0]}, "outcomes": {}, "closed": False}
    box.upload_blob(claim_book.CLAIMS_BLOB, json.dumps(claims).encode(), overwrite=True)
    assert claim_book.claim(box, "p9", 0, 0, None) == 0  # recorded before the upgrade: the same answer
    assert claim_book.claim(box, "p9", 1, 0, None) == 1
    assert claim_book.export_at(box, "p9", 1)["instance_id"] == "export-t1"
    stored = json.loads(box.download_blob(claim_book.CLAIMS_BLOB).readall())
    assert stored["schema_version"] == claim_book.SCHEMA_VERSION  # written back in the current shape


def stamped_unknown(box: ContainerClient, blob: str) -> None:
    stored = json.loads(box.download_blob(blob).readall())
    box.upload_blob(blob, json.dumps({**stored, "schema_version": 7}).encode(), overwrite=True)


def test_a_claims_blob_of_an_unknown_release_is_refused_naming_both_versions() -> None:
    box = container()
    claim_book.open_plan(box, "p10", plan(2))
    stamped_unknown(box, claim_book.CLAIMS_BLOB)
    with pytest.raises(UnsupportedVersion, match=r"claims\.json: schema version 7 .*reads 1 and 2"):
        claim_book.claim(box, "p10", 0, 0, None)


def test_a_plan_blob_of_an_unknown_release_is_refused_naming_both_versions() -> None:
    box = container()
    claim_book.open_plan(box, "p11", plan(2))
    stamped_unknown(box, claim_book.PLAN_BLOB)
    with pytest.raises(UnsupportedVersion, match=r"plan\.json: schema version 7 .*reads 1 and 2"):
        claim_book.export_at(box, "p11", 0)
