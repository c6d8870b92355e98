"""The simulator's HTTP server: one loopback listener that answers as every simulated API, and a second one that
stands for Azure Blob Storage (another origin, for the SAS result links of Intune and cost details).

Each simulated API is a module behind `api.SimulatedApi` with paths like its real counterpart's, so each base URL
looks like the real one: Graph under `/beta/employeeExperience/...`, SailPoint under `/{version}/sp-config/...`
and `/oauth/token`, Intune under `/v1.0/deviceManagement/...`, Power BI under `/v1.0/myorg/...`, cost details
under `/{scope}/providers/Microsoft.CostManagement/...`, Salesforce under `/services/...`, Entra's token endpoint
under `/{tenant}/oauth2/v2.0/token`. `/_sim/...` is the simulator's own control surface.

`serve_in_background` / `stop_serving` run any stdlib server on a thread and
stop it at once: `shutdown()` alone waits for the serving loop's next poll
(half a second by default), which the test suite paid at every teardown.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.simulator import blobs, costdetails, entra, graph, intune, powerbi, sailpoint, salesforce
from local.simulator.api import SimulatedApi
from local.simulator.config import SimulatorConfig
from local.simulator.exchange import Exchange
from local.simulator.state import Fault, RequestRecord, SimState, Stats, utcnow

APIS: tuple[SimulatedApi, ...] = (graph, sailpoint, entra, intune, powerbi, costdetails, salesforce)
ROUTES = (*(route for api in APIS for route in api.routes), "any")


def serve_in_background(server: socketserver.BaseServer, name: str, poll_interval_s: float = 0.5) -> threading.Thread:
    """`server.serve_forever()` on a daemon thread; stop it with `stop_serving`."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": poll_interval_s}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop_serving(server: socketserver.TCPServer, thread: threading.Thread) -> None:
    """Stop at once: ask for shutdown, then wake the serving loop with a connection instead of waiting its poll."""
    shutter = threading.Thread(target=server.shutdown, name=f"{thread.name}-shutdown", daemon=True)
    shutter.start()
    address: tuple[str, int] = server.server_address  # type: ignore[assignment]
    while shutter.is_alive():
        with contextlib.suppress(OSError), socket.create_connection(address[:2], timeout=1):
            pass
        shutter.join(0.01)
    server.server_close()
    thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.simulator.dispatch(Exchange(self, "GET"))

    def do_POST(self) -> None:
        self.server.simulator.dispatch(Exchange(self, "POST"))

    def do_PATCH(self) -> None:
        self.server.simulator.dispatch(Exchange(self, "PATCH"))

    def do_DELETE(self) -> None:
        self.server.simulator.dispatch(Exchange(self, "DELETE"))

    def do_PUT(self) -> None:
        self.server.simulator.dispatch(Exchange(self, "PUT"))

    def log_message(self, format: str, *args: Any) -> None:  # request lines could carry ids, never tokens
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: Simulator
    is_blob_origin: bool = False


class Simulator:
    """A running simulator; see `run_simulator`."""

    def __init__(self, config: SimulatorConfig, host: str, port: int) -> None:
        self.state = SimState(config)
        self._server = _Server((host, port), _Handler)
        self._server.simulator = self
        self._blob_server = _Server((host, 0), _Handler)
        self._blob_server.simulator = self
        self._blob_server.is_blob_origin = True
        self.state.blob_origin = self.blob_base_url
        for api in (entra, intune, powerbi, costdetails, salesforce):
            api.install_fixtures(self.state)
        self._threads: list[tuple[_Server, threading.Thread]] = []

    # -- addresses ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        address: tuple[str, int] = self._server.server_address  # type: ignore[assignment]
        return f"http://{address[0]}:{address[1]}"

    @property
    def blob_base_url(self) -> str:
        """The second origin, standing for `https://<account>.blob.core.windows.net`."""
        address: tuple[str, int] = self._blob_server.server_address  # type: ignore[assignment]
        return f"http://{address[0]}:{address[1]}"

    def api_base_url(self, name: str) -> str:
        """The base URL of the simulated API called `name` (see `APIS`)."""
        for api in APIS:
            if api.name == name:
                return api.base_url(self.base_url)
        raise ValueError(f"unknown simulated API {name!r}; expected one of {', '.join(a.name for a in APIS)}")

    @property
    def graph_base_url(self) -> str:
        return f"{self.base_url}/beta"

    @property
    def intune_base_url(self) -> str:
        """Graph v1.0 for Intune: `{intune_base_url}/deviceManagement/reports/exportJobs`."""
        return intune.base_url(self.base_url)

    @property
    def powerbi_base_url(self) -> str:
        """`{powerbi_base_url}/groups/{groupId}/reports/{reportId}/ExportTo`."""
        return powerbi.base_url(self.base_url)

    @property
    def cost_base_url(self) -> str:
        """Azure Resource Manager: `{cost_base_url}/{scope}/providers/Microsoft.CostManagement/...`."""
        return costdetails.base_url(self.base_url)

    @property
    def salesforce_login_url(self) -> str:
        """Where the Salesforce token request goes; the token response names the instance (API) origin."""
        return salesforce.base_url(self.base_url)

    @property
    def salesforce_token_url(self) -> str:
        return f"{self.salesforce_login_url}/services/oauth2/token"

    def entra_token_url(self, tenant: str | None = None) -> str:
        """Entra ID's v2.0 token endpoint for `tenant` (default: the fixture tenant)."""
        return entra.token_url(self.base_url, tenant)

    def sailpoint_base_url(self, version: str = "beta") -> str:
        return f"{self.base_url}/{version}"

    @property
    def sailpoint_token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    # -- control --------------------------------------------------------------------------------

    @property
    def config(self) -> SimulatorConfig:
        return self.state.config

    @property
    def stats(self) -> Stats:
        return self.state.stats

    def inject(
        self,
        route: str,
        *,
        status: int | None = None,
        retry_after: str | int | None = None,
        count: int = 1,
        drop_after_bytes: int | None = None,
        body: Any = None,
    ) -> None:
        """Make the next `count` requests to `route` fail with `status`, or cut their body."""
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; expected one of {', '.join(ROUTES)}")
        if (status is None) == (drop_after_bytes is None):
            raise ValueError("give exactly one of status or drop_after_bytes")
        fault = Fault(route, status, None if retry_after is None else str(retry_after), count, drop_after_bytes, body)
        with self.state.lock:
            self.state.faults.append(fault)

    def expire(self, job_id: str) -> None:
        with self.state.lock:
            self.state.jobs[job_id].expires_at = utcnow() - timedelta(seconds=1)

    def finish(self, job_id: str) -> None:
        with self.state.lock:
            self.state.jobs[job_id].forced_finish = True

    def expire_sailpoint_tokens(self) -> None:
        """Every SailPoint token issued so far expires now (a token expiring in the middle of a poll)."""
        with self.state.lock:
            past = utcnow() - timedelta(seconds=1)
            self.state.sp_tokens = {token: (client, past) for token, (client, _) in self.state.sp_tokens.items()}

    def issue_graph_token(self, scopes: list[str], ttl_s: float | None = None) -> str:
        return self.state.issue_graph_token(scopes, ttl_s)

    def expire_tokens(self) -> None:
        """Every token issued so far by Entra or Salesforce expires now (fixture tokens stay valid)."""
        with self.state.lock:
            past = utcnow() - timedelta(seconds=1)
            self.state.grants = {
                token: (replace(grant, expires=past) if grant.expires is not None else grant)
                for token, grant in self.state.grants.items()
            }

    # -- serving --------------------------------------------------------------------------------

    def dispatch(self, ex: Exchange) -> None:
        ex.on_start = self._record
        ex.echo_credentials = self.config.echo_credentials
        if isinstance(ex.handler.server, _Server) and ex.handler.server.is_blob_origin:
            self._dispatch_blob(ex)
        else:
            self._dispatch(ex)

    def _record(self, ex: Exchange) -> None:
        had_auth = ex.header("Authorization") is not None
        blob = isinstance(ex.handler.server, _Server) and ex.handler.server.is_blob_origin
        record = RequestRecord(ex.method, ex.raw_path, ex.route, ex.status, had_auth, "blob" if blob else "api")
        self.stats.record(record)

    def _dispatch(self, ex: Exchange) -> None:
        if ex.segments[:1] == ["_sim"]:
            self._admin(ex)
            return
        for api in APIS:
            route = api.route_of(ex)
            if route is not None:
                break
        else:
            ex.send_json(404, {"error": {"code": "notFound", "message": f"No route for {ex.method} {ex.raw_path}"}})
            return
        ex.route = route
        fault = self.state.take_fault(route)
        if fault is not None:
            api.fault_response(ex, self.state, fault)
        else:
            api.handle(ex, self.state, route)

    def _dispatch_blob(self, ex: Exchange) -> None:
        ex.route = blobs.route_of(ex, self.state)
        fault = self.state.take_fault(ex.route)
        if fault is not None:
            blobs.fault_response(ex, self.state, fault)
        else:
            blobs.handle(ex, self.state)

    def _admin(self, ex: Exchange) -> None:
        action = "/".join(ex.segments[1:])
        try:
            if action == "config" and ex.method == "POST":
                self.config.update(ex.json_body() or {})
                ex.send_json(200, asdict(self.config))
            elif action == "config":
                ex.send_json(200, asdict(self.config))
            elif action == "graph-token" and ex.method == "POST":
                body = ex.json_body() or {}
                ex.send_json(200, {"token": self.issue_graph_token(body.get("scopes", []), body.get("ttl_s"))})
            elif action == "stats":
                ex.send_json(200, {"jobs_created": dict(self.stats.jobs_created), "requests": len(self.stats.requests)})
            else:
                ex.send_json(404, {"error": f"unknown simulator control {action!r}"})
        except (ValueError, TypeError) as exc:
            ex.send_json(400, {"error": str(exc)})

    def start(self) -> None:
        self._threads = [
            (self._server, serve_in_background(self._server, "upstream-simulator")),
            (self._blob_server, serve_in_background(self._blob_server, "upstream-simulator-blobs")),
        ]

    def stop(self) -> None:
        for server, thread in self._threads:
            stop_serving(server, thread)
        self._threads = []


@contextmanager
def run_simulator(
    config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[Simulator]:
    """A simulator on loopback for the duration of a `with` block."""
    simulator = Simulator(config or SimulatorConfig(), host, port)
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()
