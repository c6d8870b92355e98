"""Runtime statuses the triggers act on, and instance queries that read every page, in one place.

The Durable extension's documented HTTP API answers an instance query
(`GET <base>/runtime/webhooks/durabletask/instances?taskHub=..&connection=..&code=<system key>&runtimeStatus=..`)
one page at a time (100 instances unless `top` says otherwise) and puts the
continuation in the `x-ms-continuation-token` response header, to be sent back
as a request header for the next page. The Python SDK's `get_status_by` reads
the first page only, so a busy check written with it silently misses instance
101 and on. `query_instances` therefore talks to that HTTP API itself and
follows the token to the end, bounded so that a misbehaving host cannot loop it
forever. It finds the API through public SDK calls only: the management URLs
the client hands out for an instance (`create_http_management_payload`) carry
the webhook base, the task hub, the connection and the system key, and the
query is built from those; nothing private of the SDK is read. Those URLs hold
the system key, so no error raised here repeats a URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

# Not ended: the instance still holds its target (an upstream job may be running), suspended ones too.
ACTIVE = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})
# An instance under this id that must not be started again (it runs, or it already succeeded).
ALIVE = ACTIVE | {"Completed"}

CONTINUATION_HEADER = "x-ms-continuation-token"
LAST_PAGE_MARKS = frozenset({"", "null"})  # the host sends the header empty when the query is done
MAX_PAGES = 1000  # 100,000 instances at the host's page size
TIMEOUT = aiohttp.ClientTimeout(total=60)
MARKER = "instance-query-marker"  # an instance id to ask the management URLs for; only their base is used
KEPT = ("taskHub", "connection", "code")  # what the management URLs' query holds that the instances query needs


class InstanceQueryError(RuntimeError):
    """The host's instance query failed or would not end."""


def runtime_name(status: Any) -> str | None:
    """The runtime status of a `get_status` answer by name, or None when the instance does not exist."""
    runtime = getattr(status, "runtime_status", None)
    return getattr(runtime, "name", None) if runtime is not None else None


def _query_url(client: df.DurableOrchestrationClient, statuses: Iterable[str]) -> str:
    """`<base>/runtime/webhooks/durabletask/instances?taskHub&connection&code&runtimeStatus=A,B`, from public calls."""
    wanted = [df.OrchestrationRuntimeStatus[name].name for name in sorted(statuses)]
    status_url = client.create_http_management_payload(MARKER)["statusQueryGetUri"]
    parts = urlsplit(status_url)
    suffix = f"/instances/{MARKER}"
    if not parts.path.endswith(suffix):
        raise InstanceQueryError("the client's management URLs do not have the documented shape")
    query = [(key, value) for key, value in parse_qsl(parts.query) if key in KEPT]
    query += [("runtimeStatus", ",".join(wanted)), ("showInput", "false")]
    return urlunsplit((parts.scheme, parts.netloc, parts.path.removesuffix(f"/{MARKER}"), urlencode(query), ""))


async def query_instances(
    client: df.DurableOrchestrationClient, statuses: Iterable[str]
) -> list[DurableOrchestrationStatus]:
    """Every instance whose runtime status is one of `statuses`, across all pages of the host's answer."""
    url = _query_url(client, statuses)
    found: list[DurableOrchestrationStatus] = []
    token: str | None = None
    seen: set[str] = set()
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        for _ in range(MAX_PAGES):
            try:
                async with session.get(url, headers={CONTINUATION_HEADER: token} if token else {}) as response:
                    if response.status != 200:
                        raise InstanceQueryError(f"the instance query answered HTTP {response.status}")
                    page = await response.json(content_type=None)
                    token = response.headers.get(CONTINUATION_HEADER)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:  # their text may hold the URL (the key)
                raise InstanceQueryError(f"the instance query failed ({type(exc).__name__})") from None
            if not isinstance(page, list):
                raise InstanceQueryError("the instance query did not answer a list")
            found.extend(DurableOrchestrationStatus.from_json(item) for item in page if isinstance(item, dict))
            if token is None or token in LAST_PAGE_MARKS:
                return found
            if token in seen:
                raise InstanceQueryError("the instance query repeated a continuation token")
            seen.add(token)
    raise InstanceQueryError(f"the instance query did not end within {MAX_PAGES} pages")
