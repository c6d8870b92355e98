"""What every simulated API is to the server: a name, its routes, a router, a handler, its fault answers, a base URL.

Each API lives in its own module (graph, sailpoint, entra, intune, powerbi, costdetails, salesforce) that
satisfies `SimulatedApi` as a module; the server asks each in turn whether a request is one of its routes.
A route name (`api.step`) is also the key of the fault switches (`Simulator.inject`) and of the request log.
"""

from __future__ import annotations

from typing import Protocol

from local.simulator.exchange import Exchange
from local.simulator.state import Fault, SimState


class SimulatedApi(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def routes(self) -> tuple[str, ...]: ...

    def route_of(self, ex: Exchange) -> str | None:
        """This API's route for the request, or None if it is not one of this API's."""
        ...

    def handle(self, ex: Exchange, state: SimState, route: str) -> None: ...

    def fault_response(self, ex: Exchange, state: SimState, fault: Fault) -> None:
        """An injected status fault, answered in this API's error envelope."""
        ...

    def base_url(self, origin: str) -> str:
        """The URL a client would configure as this API's base, given the simulator's origin."""
        ...
