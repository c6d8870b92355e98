"""Start and stop Azurite, the Azure Storage emulator, for the demo and the tests.

Azurite comes from the project's own `package.json` (`npm ci` puts it under
`node_modules/.bin`). It is always bound to loopback with telemetry off, on free
ports, with its data in a folder the caller owns, and it is stopped on the way
out whatever happened.

`provision` creates the export container and events queue, locally, once: in
Azure the deployment creates them, so the activities never do.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from azure.core.exceptions import ResourceExistsError

from sinks.storage_clients import StorageSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
# Azurite's documented development account: public, not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azurite:
    """A running Azurite and how to reach it."""

    host: str
    blob_port: int
    queue_port: int
    table_port: int

    @property
    def blob_endpoint(self) -> str:
        return f"http://{self.host}:{self.blob_port}/{DEV_ACCOUNT}"

    @property
    def queue_endpoint(self) -> str:
        return f"http://{self.host}:{self.queue_port}/{DEV_ACCOUNT}"

    @property
    def table_endpoint(self) -> str:
        return f"http://{self.host}:{self.table_port}/{DEV_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint={self.blob_endpoint};QueueEndpoint={self.queue_endpoint};"
            f"TableEndpoint={self.table_endpoint};"
        )


def azurite_executable() -> str:
    local_bin = REPO_ROOT / "node_modules" / ".bin" / "azurite"
    if local_bin.exists():
        return str(local_bin)
    found = shutil.which("azurite")
    if found:
        return found
    raise RuntimeError("Azurite is not installed: run `npm ci` in the repository root (make test does it)")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _wait_for_port(host: str, port: int, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Azurite exited early with code {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"Azurite did not listen on {host}:{port} within {timeout_s:.0f} s")


def start(
    data_dir: Path, *, host: str = "127.0.0.1", ports: tuple[int, int, int] | None = None
) -> tuple[Azurite, subprocess.Popen[bytes]]:
    """Start Azurite in its own process group; the caller must `stop()` it."""
    blob, queue, table = ports or (free_port(host), free_port(host), free_port(host))
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        azurite_executable(),
        "--disableTelemetry",
        "--silent",
        "--skipApiVersionCheck",
        "--location",
        str(data_dir),
        "--blobHost",
        host,
        "--blobPort",
        str(blob),
        "--queueHost",
        host,
        "--queuePort",
        str(queue),
        "--tableHost",
        host,
        "--tablePort",
        str(table),
    ]
    log = (data_dir / "azurite.log").open("ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    azurite = Azurite(host, blob, queue, table)
    try:
        for port in (blob, queue, table):
            _wait_for_port(host, port, proc, timeout_s=30)
    except BaseException:
        stop(proc)
        raise
    return azurite, proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def running(data_dir: Path, *, host: str = "127.0.0.1") -> Iterator[Azurite]:
    """Azurite for the duration of a `with` block."""
    azurite, proc = start(data_dir, host=host)
    try:
        yield azurite
    finally:
        stop(proc)


def provision(settings: StorageSettings, *containers: str) -> None:
    """Create the export container, the events queue and any other `containers`, unless they exist."""
    service = settings.blob_service()
    for name in (settings.container, *containers):
        with contextlib.suppress(ResourceExistsError):
            service.create_container(name)
    with contextlib.suppress(ResourceExistsError):
        settings.queue_client().create_queue()
