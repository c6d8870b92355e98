"""The simulator's registry of APIs: every route belongs to exactly one API, and every API answers on its base."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from local.simulator import APIS, Simulator
from local.simulator.server import ROUTES


def test_every_route_belongs_to_exactly_one_api_and_is_named_after_it() -> None:
    counts = Counter(route for api in APIS for route in api.routes)
    assert [route for route, n in counts.items() if n > 1] == []
    assert len({api.name for api in APIS}) == len(APIS)
    assert set(ROUTES) == {*counts, "any"}


def test_an_unknown_route_cannot_be_given_a_fault(simulator: Simulator) -> None:
    with pytest.raises(ValueError, match="unknown route"):
        simulator.inject("intune.nope", status=500)


@pytest.mark.integration
@pytest.mark.parametrize("api", [api.name for api in APIS])
def test_every_api_has_a_base_url_on_the_simulators_origin(simulator: Simulator, api: str) -> None:
    assert simulator.api_base_url(api).startswith(simulator.base_url)


@pytest.mark.integration
def test_a_path_no_api_claims_is_404_and_logged(simulator: Simulator) -> None:
    assert httpx.get(f"{simulator.base_url}/v1.0/nothing/here").status_code == 404
    assert simulator.stats.requests[-1].route == "unknown"
