"""A loopback stand-in for the Durable extension's management HTTP API, as the Python client calls it.

Only the host side is fake: the real `DurableOrchestrationClient` sends real HTTP to it. Instance queries
answer in pages as the extension's `HttpApiHandler` does: `top` per page (100 by default), the next page's
token in the `x-ms-continuation-token` response header (empty on the last page), read back from the same
request header. The documented webhook API (`/runtime/webhooks/durabletask/instances?...`) answers only with
the system key and task hub the management URLs carry, as the host does; the SDK's own calls go to the
extension's local RPC base (`/durabletask/...`), which needs no key.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import azure.durable_functions as df

from tests.support.loopback_server import loopback_server

# The SDK keeps one aiohttp session per process, tied to the loop that first used it: every test shares this one.
LOOP = asyncio.new_event_loop()
PAGE_SIZE = 100  # OrchestrationStatusQueryCondition.PageSize's default
CONTINUATION = "x-ms-continuation-token"
SYSTEM_KEY = "fixture-system-key"
TASK_HUB = "exportjobs"
WEBHOOK_PREFIX = ["runtime", "webhooks"]


@dataclass
class FakeHost:
    base_url: str
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: list[tuple[str, str, Any]] = field(default_factory=list)
    terminated: list[tuple[str, str]] = field(default_factory=list)
    pages_served: int = 0
    webhook_queries: list[dict[str, list[str]]] = field(default_factory=list)  # query strings the webhook API got
    refused: int = 0  # webhook requests without the system key or task hub

    def client(self, *, rpc: bool = True) -> df.DurableOrchestrationClient:
        """The binding the host hands a client function; `rpc=False` leaves out the local RPC base."""
        instance = f"{self.base_url}/runtime/webhooks/durabletask/instances/INSTANCEID"
        keyed = f"taskHub={TASK_HUB}&connection=Storage&code={SYSTEM_KEY}"
        management = {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{instance}?{keyed}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{keyed}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{keyed}",
            "purgeHistoryDeleteUri": f"{instance}?{keyed}",
        }
        binding: dict[str, Any] = {"taskHubName": TASK_HUB, "creationUrls": {}, "managementUrls": management}
        if rpc:
            binding["rpcBaseUrl"] = f"{self.base_url}/durabletask/"
        return df.DurableOrchestrationClient(json.dumps(binding))


def _handler(host: FakeHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            url = urlsplit(self.path)
            parts = url.path.strip("/").split("/")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if parts[1] == "orchestrators":
                name, instance_id = parts[2], parts[3]
                payload = json.loads(body) if body else None
                if isinstance(payload, str):  # the client sends the input JSON-encoded once more
                    payload = json.loads(payload)
                if host.instances.get(instance_id, {}).get("runtimeStatus") in ("Pending", "Running"):
                    self._send(500, "instance already exists")  # overridableExistingInstanceStates: NonRunningStates
                    return
                host.started.append((name, instance_id, payload))
                host.instances[instance_id] = {
                    "name": name,
                    "instanceId": instance_id,
                    "runtimeStatus": "Running",
                    "input": payload,
                }
                self._send(202, {"id": instance_id})
            elif parts[1] == "instances" and parts[-1] == "terminate":
                reason = parse_qs(url.query).get("reason", [""])[0]
                host.terminated.append((parts[2], reason))
                host.instances[parts[2]]["runtimeStatus"] = "Terminated"
                self._send(202, None)
            else:
                self._send(404, None)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            parts = url.path.strip("/").split("/")
            query = parse_qs(url.query)
            if parts[:2] == WEBHOOK_PREFIX:
                if query.get("code") != [SYSTEM_KEY] or query.get("taskHub") != [TASK_HUB]:
                    host.refused += 1
                    self._send(401, None)
                    return
                host.webhook_queries.append(query)
                parts = parts[2:]
            if parts[1:] == ["instances"]:
                self._query(query)
                return
            status = host.instances.get(parts[2]) if parts[1] == "instances" else None
            self._send(200 if status else 404, status or {})

        def _query(self, query: dict[str, list[str]]) -> None:
            """Filter by runtimeStatus, then one page from the offset the continuation token names."""
            wanted = set(",".join(query.get("runtimeStatus", [])).split(",")) - {""}
            found = [i for i in host.instances.values() if not wanted or i["runtimeStatus"] in wanted]
            size = int(query.get("top", [str(PAGE_SIZE)])[0])
            start = int(self.headers.get(CONTINUATION) or "0")
            following = start + size if start + size < len(found) else None
            host.pages_served += 1
            self._send(200, found[start : start + size], {CONTINUATION: str(following) if following else ""})

        def _send(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def fake_durable_host() -> Iterator[FakeHost]:
    with loopback_server(BaseHTTPRequestHandler, name="fake-durable-host") as served:
        host = FakeHost(served.url)
        served.server.RequestHandlerClass = _handler(host)  # the handler answers with this host's URLs
        yield host
