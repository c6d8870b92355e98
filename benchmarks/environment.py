"""What every benchmark section needs around it: one Azurite, loopback-only traffic, and the activities' settings.

Starting Azurite takes seconds and each section would otherwise pay for it, so
one instance serves the whole run. The activities read their storage and
credential settings from the environment, exactly as they do in the Function
App, so a section points them at its own container and queue here rather than
reaching into the activities. A proxy configured in the environment must not
see (or slow down) traffic that is meant for loopback only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from local import azurite
from local.simulator import GRAPH_FIXTURE_TOKEN, SAILPOINT_FIXTURE_CLIENT, SAILPOINT_FIXTURE_SECRET
from sinks.storage_clients import StorageSettings

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


def loopback_only() -> None:
    """Every request of a benchmark goes straight to 127.0.0.1, never through a configured proxy."""
    for name in PROXY_VARIABLES:
        os.environ.pop(name, None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    os.environ["EXPORTS_ALLOW_LOOPBACK_UPSTREAMS"] = "true"  # the upstreams are the simulator on 127.0.0.1


@contextmanager
def shared_azurite() -> Iterator[azurite.Azurite]:
    """One Azurite on loopback, with its data in a temporary folder removed afterwards."""
    loopback_only()
    with tempfile.TemporaryDirectory(prefix="bench-azurite-") as tmp, azurite.running(Path(tmp)) as storage:
        yield storage


def use_storage(storage: azurite.Azurite, name: str) -> None:
    """Point the activities at `storage`, with a container and an event queue called `name` of their own."""
    os.environ.update(
        EXPORTS_STORAGE_CONNECTION_STRING=storage.connection_string,
        EXPORTS_CONTAINER=name,
        EXPORTS_EVENTS_QUEUE=name,
        EXPORTS_EVENTS_SINK="queue",
        TEST_GRAPH_TOKEN=GRAPH_FIXTURE_TOKEN,
        TEST_SP_CLIENT_ID=SAILPOINT_FIXTURE_CLIENT,
        TEST_SP_CLIENT_SECRET=SAILPOINT_FIXTURE_SECRET,
    )
    azurite.provision(StorageSettings.from_env())
