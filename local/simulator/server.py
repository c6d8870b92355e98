"""The simulator's HTTP server: one loopback listener that answers as both upstream origins.

Graph lives under `/beta/employeeExperience/...`, SailPoint under
`/{version}/sp-config/...` and `/oauth/token`, so each base URL looks like its
real counterpart. `/_sim/...` is the simulator's own control surface.

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
from dataclasses import asdict
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.simulator import graph, sailpoint
from local.simulator.config import SimulatorConfig
from local.simulator.exchange import Exchange
from local.simulator.state import ROUTES, Fault, RequestRecord, SimState, Stats, utcnow


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

    def log_message(self, format: str, *args: Any) -> None:  # request lines could carry ids, never tokens
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: Simulator


class Simulator:
    """A running simulator; see `run_simulator`."""

    def __init__(self, config: SimulatorConfig, host: str, port: int) -> None:
        self.state = SimState(config)
        self._server = _Server((host, port), _Handler)
        self._server.simulator = self
        self._thread: threading.Thread | None = None

    # -- addresses ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        address: tuple[str, int] = self._server.server_address  # type: ignore[assignment]
        return f"http://{address[0]}:{address[1]}"

    @property
    def graph_base_url(self) -> str:
        return f"{self.base_url}/beta"

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

    # -- serving --------------------------------------------------------------------------------

    def dispatch(self, ex: Exchange) -> None:
        ex.on_start = self._record
        ex.echo_credentials = self.config.echo_credentials
        self._dispatch(ex)

    def _record(self, ex: Exchange) -> None:
        had_auth = ex.header("Authorization") is not None
        self.stats.record(RequestRecord(ex.method, ex.raw_path, ex.route, ex.status, had_auth))

    def _dispatch(self, ex: Exchange) -> None:
        if ex.segments[:1] == ["_sim"]:
            self._admin(ex)
            return
        graph_route, sp_route = graph.route_of(ex), sailpoint.route_of(ex)
        route = graph_route or sp_route
        if route is None:
            ex.send_json(404, {"error": {"code": "notFound", "message": f"No route for {ex.method} {ex.raw_path}"}})
            return
        ex.route = route
        fault = self.state.take_fault(route)
        if fault is not None:
            (graph.fault_response(ex, self.state, fault) if graph_route else sailpoint.fault_response(ex, fault))
        elif graph_route:
            graph.handle(ex, self.state, route)
        else:
            sailpoint.handle(ex, self.state, route)

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
        self._thread = serve_in_background(self._server, "upstream-simulator")

    def stop(self) -> None:
        if self._thread is not None:
            stop_serving(self._server, self._thread)


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
