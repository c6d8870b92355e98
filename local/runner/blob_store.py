"""Keep the local runner's history in Blob Storage, so a run survives the process that started it, and one
process at a time drives each instance.

`MemoryHistoryStore` dies with the process, which is exactly when a history is
needed: after a crash or a Ctrl-C, a re-run of `python -m local run` with the
same run key must resume the instance instead of creating a second upstream
job. Putting each instance in one blob of the exports storage account (Azurite
locally) gives that with nothing else to install. Each save replaces the blob
in one step, so a reader sees the previous history or the new one, never a
torn one. Blob names are a hash of the instance id because ids may hold
characters a blob path should not.

A history that outlives its process can also be picked up by two processes at
once, and both would then start the same outstanding work (two upstream jobs,
two events with one id). Blob Storage's own concurrency control prevents it:

- the lease says who drives. Loading a running instance takes a lease on its
  blob (one per instance id, so a parent and its children in one process never
  fight); a lease held by anyone else refuses the load with `InstanceBusy`
  before any work starts. A thread renews the leases while the store is open;
  `close()` releases them, and an ended instance releases its own at once. A
  process killed outright stops renewing, so its leases expire (after
  `lease_seconds`, 15-60) and a later resume acquires them; `take_over=True`
  breaks them instead, for an operator who knows the old process is gone.
- the ETag makes a lost lease impossible to miss. Every save is conditional on
  the version this store last read or wrote (`If-Match`), and the first save of
  an instance that did not exist is `If-None-Match: *`, so of two processes
  starting the same new instance only one creates it. A writer whose lease
  expired or was broken can never overwrite a newer history: its save raises
  `LeaseLost` instead of writing.

Both errors derive from `BaseException`, like `KeyboardInterrupt`: to the
runner they mean "this process must stop driving", so every instance loop stops
unsaved rather than recording them as a failure of the orchestration.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobLeaseClient, ContainerClient, ContentSettings, StorageStreamDownloader

from local.runner.store import StoredInstance

PREFIX = "runner-history/"
JSON = ContentSettings(content_type="application/json")
LEASE_SECONDS = 60
LEASE_LIMITS = (15, 60)  # what Blob Storage accepts for a finite lease
BUSY = "LeaseAlreadyPresent"
log = logging.getLogger(__name__)


def history_blob_name(instance_id: str) -> str:
    return f"{PREFIX}{hashlib.sha256(instance_id.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}.json"


class DriverConflict(BaseException):
    """Another process drives (or took over) this instance; this one must not run or record anything for it."""

    def __init__(self, instance_id: str, detail: str) -> None:
        super().__init__(f"instance {instance_id!r}: {detail}")
        self.instance_id = instance_id


class InstanceBusy(DriverConflict):
    """Refused before starting: the instance's history is leased by another process, or it created it first."""


class LeaseLost(DriverConflict):
    """Refused while running: the lease expired or was broken, or the history changed behind this process."""


def _code(exc: HttpResponseError) -> str:
    """The service's error code (e.g. `LeaseIdMismatchWithBlobOperation`): safe to show, it holds no data."""
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or exc.status_code)


def _parse(downloaded: StorageStreamDownloader[bytes]) -> StoredInstance:
    return StoredInstance.from_dict(json.loads(downloaded.readall()))


def _renewed(lease: BlobLeaseClient) -> bool:
    """Renew a lease that lapsed (e.g. Azurite restarted: it keeps blobs, not leases). The service renews an
    expired lease only if nobody leased or changed the blob since, so this never takes it from another driver."""
    try:
        lease.renew()
    except HttpResponseError:
        return False
    return True


def _if_match(etag: str | None) -> dict[str, Any]:
    """Keyword arguments that make a request conditional on the version `etag` (none without one)."""
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified} if etag else {}


class BlobHistoryStore:
    """A `HistoryStore` with one JSON blob per instance in `container` (which must exist). Thread-safe.

    Use it as a context manager (or call `close()`), so its leases are released when the run ends.
    """

    def __init__(self, container: ContainerClient, *, lease_seconds: int = LEASE_SECONDS, take_over: bool = False):
        if not LEASE_LIMITS[0] <= lease_seconds <= LEASE_LIMITS[1]:
            raise ValueError(f"lease_seconds must be within {LEASE_LIMITS[0]}-{LEASE_LIMITS[1]}, got {lease_seconds}")
        self.container = container
        self.lease_seconds = lease_seconds
        self.take_over = take_over
        self.owner = str(uuid.uuid4())  # this store's lease id: the driver's identity
        self._etags: dict[str, str | None] = {}  # the version last read or written; None: known not to exist
        self._leases: dict[str, BlobLeaseClient] = {}
        self._lost: dict[str, str] = {}  # instance id -> why its lease was lost while renewing
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # -- the HistoryStore protocol ------------------------------------------------------------------

    def load(self, instance_id: str) -> StoredInstance | None:
        """The saved instance, None if there is none; a running one is leased to this store from now on."""
        blob = self._blob(instance_id)
        if instance_id not in self._leases and not self._lease(instance_id, blob, etag=None):
            return None
        with self._lost_on_conflict(instance_id, "its history could not be read under this process's lease"):
            downloaded = blob.download_blob(lease=self._leases[instance_id])
        stored = _parse(downloaded)
        with self._lock:
            self._etags[instance_id] = downloaded.properties.etag
        if stored.status != "Running":
            self._release(instance_id)  # nothing left to drive: a later run only reads the result
        return stored

    def read(self, instance_id: str) -> StoredInstance | None:
        """The saved instance as an observer sees it (status, tests): never leased, never refused."""
        try:
            return _parse(self._blob(instance_id).download_blob())
        except ResourceNotFoundError:
            return None

    def save(self, instance_id: str, instance: StoredInstance) -> None:
        blob, data = self._blob(instance_id), json.dumps(instance.to_dict()).encode()
        with self._lock:
            lost, known_absent = self._lost.pop(instance_id, None), self._etags.get(instance_id, "") is None
            etag = self._etags.get(instance_id)
        if lost is not None:
            raise LeaseLost(instance_id, lost)
        if instance_id in self._leases or (not known_absent and self._lease(instance_id, blob, etag)):
            self._write(instance_id, blob, data)
        else:  # loaded as absent, or a fresh child whose id was never saved: only one process may create it
            self._create(instance_id, blob, data)
        if instance.status != "Running":
            self._release(instance_id)

    # -- lifecycle ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop renewing and release every lease this store holds (a later run may resume at once)."""
        self._stop.set()
        if self._renewer is not None and self._renewer is not threading.current_thread():
            self._renewer.join(timeout=10)
        for instance_id in list(self._leases):
            self._release(instance_id)

    def __enter__(self) -> BlobHistoryStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------------

    def _blob(self, instance_id: str) -> BlobClient:
        return self.container.get_blob_client(history_blob_name(instance_id))

    def _lease(self, instance_id: str, blob: BlobClient, etag: str | None) -> bool:
        """Lease the instance's blob (only in the version `etag`, if given); False if there is no blob."""
        lease = BlobLeaseClient(blob, lease_id=self.owner)
        try:
            self._acquire(lease, etag)
        except HttpResponseError as exc:
            if exc.status_code == 404:
                with self._lock:
                    self._etags[instance_id] = None
                return False
            if _code(exc) == BUSY:
                raise InstanceBusy(instance_id, self._busy()) from None
            if exc.status_code == 412:
                detail = f"its history changed before this process could lease it ({_code(exc)})"
                raise LeaseLost(instance_id, detail) from None
            raise
        with self._lock:
            self._leases[instance_id], self._etags[instance_id] = lease, lease.etag
        self._start_renewing()
        return True

    def _acquire(self, lease: BlobLeaseClient, etag: str | None) -> None:
        try:
            lease.acquire(lease_duration=self.lease_seconds, **_if_match(etag))
        except HttpResponseError as exc:
            if _code(exc) != BUSY or not self.take_over:
                raise
            lease.break_lease(lease_break_period=0)  # the operator says its holder is gone
            lease.acquire(lease_duration=self.lease_seconds, **_if_match(etag))

    def _busy(self) -> str:
        return (
            "another process is driving it (its history blob is leased); wait for that run to end, or after a "
            f"crash retry once its lease has expired (at most {self.lease_seconds} s) or with --take-over"
        )

    def _create(self, instance_id: str, blob: BlobClient, data: bytes) -> None:
        """Write the first history under If-None-Match: *, then lease exactly that version."""
        try:
            created = blob.upload_blob(data, match_condition=MatchConditions.IfMissing, content_settings=JSON)
        except HttpResponseError as exc:
            if exc.status_code not in (409, 412):
                raise
            raise InstanceBusy(instance_id, "another process started it at the same moment and drives it") from None
        if not self._lease(instance_id, blob, created["etag"]):
            raise LeaseLost(instance_id, "its history was deleted just after this process created it")

    def _write(self, instance_id: str, blob: BlobClient, data: bytes) -> None:
        """Replace the history under this store's lease and If-Match the version it last read or wrote."""
        with self._lock:
            lease, etag = self._leases[instance_id], self._etags.get(instance_id)
        with self._lost_on_conflict(instance_id, "this process no longer drives it, so it stops without saving"):
            try:
                written = blob.upload_blob(data, overwrite=True, lease=lease, content_settings=JSON, **_if_match(etag))
            except HttpResponseError as exc:
                if exc.status_code != 412 or not _renewed(lease):
                    raise
                written = blob.upload_blob(data, overwrite=True, lease=lease, content_settings=JSON, **_if_match(etag))
        with self._lock:
            self._etags[instance_id] = written["etag"]

    @contextlib.contextmanager
    def _lost_on_conflict(self, instance_id: str, detail: str) -> Iterator[None]:
        """A 409 or 412 inside means another process drives `instance_id`: stop holding it, and say so."""
        try:
            yield
        except HttpResponseError as exc:
            if exc.status_code not in (409, 412):
                raise
            self._forget(instance_id)
            raise LeaseLost(instance_id, f"{detail} ({_code(exc)})") from None

    def _release(self, instance_id: str) -> None:
        lease = self._forget(instance_id)
        if lease is not None:
            with contextlib.suppress(HttpResponseError):  # expired or broken already: nothing of ours to release
                lease.release()

    def _forget(self, instance_id: str) -> BlobLeaseClient | None:
        with self._lock:
            return self._leases.pop(instance_id, None)

    def _start_renewing(self) -> None:
        with self._lock:
            if self._renewer is not None or self._stop.is_set():
                return
            self._renewer = threading.Thread(target=self._renew_loop, name="history-lease-renewer", daemon=True)
        self._renewer.start()

    def _renew_loop(self) -> None:
        """Renew at a third of the lease, so two missed renewals (a slow or restarting Azurite) still hold it."""
        while not self._stop.wait(self.lease_seconds / 3):
            with self._lock:
                leases = dict(self._leases)
            for instance_id, lease in leases.items():
                try:
                    lease.renew()
                except HttpResponseError as exc:  # broken, expired and taken, or the blob is gone
                    if self._forget(instance_id) is lease:
                        with self._lock:
                            self._lost[instance_id] = f"its lease was lost while running ({_code(exc)})"
                except Exception as exc:  # storage unreachable: the next renewal or save will tell
                    log.warning("could not renew the history lease of %r: %s", instance_id, type(exc).__name__)
