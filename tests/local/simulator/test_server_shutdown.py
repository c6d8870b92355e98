"""Servers run by `serve_in_background` stop when asked, without waiting for the serving loop's poll."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from local.simulator import SimulatorConfig, run_simulator
from local.simulator.server import serve_in_background, stop_serving

AN_HOUR = 3600.0


def test_stopping_does_not_wait_for_the_serving_poll() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    thread = serve_in_background(server, "idle", poll_interval_s=AN_HOUR)  # shutdown() alone would wait an hour
    stopper = threading.Thread(target=stop_serving, args=(server, thread), daemon=True)
    stopper.start()
    stopper.join(timeout=60)  # a liveness bound, not a timing figure
    assert not stopper.is_alive()
    assert not thread.is_alive()


def test_a_stopped_simulator_has_no_serving_thread_and_refuses_connections() -> None:
    with run_simulator(SimulatorConfig()) as sim:
        url = f"{sim.base_url}/_sim/config"
        assert httpx.get(url).status_code == 200
    assert not any(t.name == "upstream-simulator" and t.is_alive() for t in threading.enumerate())
    try:
        httpx.get(url, timeout=2)
    except httpx.ConnectError:
        return
    raise AssertionError("the stopped simulator still answered")
