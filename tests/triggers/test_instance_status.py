"""Instance queries against a fake host that pages like the Durable extension: every page is read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.triggers.fake_durable_host import LOOP, FakeHost, fake_durable_host
from triggers.instance_status import ACTIVE, query_instances


@pytest.fixture
def host() -> Iterator[FakeHost]:
    with fake_durable_host() as fake:
        yield fake


def test_an_instance_query_reads_every_page_and_only_the_wanted_statuses(host: FakeHost) -> None:
    for n in range(250):
        status = ("Running", "Suspended", "Completed")[n % 3]
        host.instances[f"i-{n:03d}"] = {"name": "x", "instanceId": f"i-{n:03d}", "runtimeStatus": status}
    found = LOOP.run_until_complete(query_instances(host.client(), ACTIVE))
    expected = {i for i, s in host.instances.items() if s["runtimeStatus"] in ACTIVE}
    assert len(expected) == 167
    assert host.pages_served == 2
    assert sorted(str(status.instance_id) for status in found) == sorted(expected)


def test_an_empty_answer_is_one_page(host: FakeHost) -> None:
    assert LOOP.run_until_complete(query_instances(host.client(), ACTIVE)) == []
    assert host.pages_served == 1
