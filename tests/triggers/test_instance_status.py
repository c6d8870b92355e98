"""Instance queries against a fake host that pages like the Durable extension: every page is read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.triggers.fake_durable_host import LOOP, SYSTEM_KEY, FakeHost, fake_durable_host
from triggers.instance_status import ACTIVE, InstanceQueryError, query_instances


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


def test_the_query_goes_to_the_documented_webhook_api_with_the_system_key_and_task_hub(host: FakeHost) -> None:
    host.instances["i-1"] = {"name": "x", "instanceId": "i-1", "runtimeStatus": "Running"}
    found = LOOP.run_until_complete(query_instances(host.client(), {"Running", "Suspended"}))
    assert [str(status.instance_id) for status in found] == ["i-1"]
    assert host.refused == 0
    [query] = host.webhook_queries
    assert query["runtimeStatus"] == ["Running,Suspended"]
    assert (query["taskHub"], query["connection"], query["code"]) == (["exportjobs"], ["Storage"], [SYSTEM_KEY])


def test_the_query_reads_nothing_private_of_the_sdk(host: FakeHost) -> None:
    """A client binding without the extension's RPC base (which the SDK keeps private) is queried the same way."""
    for n in range(120):
        host.instances[f"i-{n:03d}"] = {"name": "x", "instanceId": f"i-{n:03d}", "runtimeStatus": "Pending"}
    found = LOOP.run_until_complete(query_instances(host.client(rpc=False), ACTIVE))
    assert len(found) == 120
    assert len(host.webhook_queries) == 2


def test_a_failed_query_never_repeats_the_url_that_holds_the_system_key() -> None:
    gone = FakeHost("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(InstanceQueryError) as raised:
        LOOP.run_until_complete(query_instances(gone.client(), ACTIVE))
    assert SYSTEM_KEY not in str(raised.value)
    assert raised.value.__suppress_context__  # the client error, whose text names the URL, is not chained
