"""What the simulator remembers: jobs, tokens, rate-limit windows, injected faults and statistics.

All of it sits behind one lock because the server answers on many threads.
Token values are kept only to check them; they never reach the request log.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from local.simulator.config import GRAPH_FIXTURE_TOKEN, SimulatorConfig

_clock: list[Callable[[], datetime]] = []  # a borrowed clock, innermost last


def utcnow() -> datetime:
    return _clock[-1]() if _clock else datetime.now(UTC)


@contextmanager
def borrowed_clock(now: Callable[[], datetime]) -> Iterator[None]:
    """Age jobs and tokens by `now` (a local runner's virtual clock), so scaled timers see jobs of real length."""
    _clock.append(now)
    try:
        yield
    finally:
        _clock.remove(now)


@dataclass
class Job:
    """One export job of any simulated API; what is particular to an API lives in `params`."""

    api: str  # the simulated API's name
    job_id: str
    created: datetime
    will_fail: bool
    never_finish: bool
    params: dict[str, Any] = field(default_factory=dict)  # what the create asked for, in the API's own words
    polls: int = 0
    finished_at: datetime | None = None
    expires_at: datetime | None = None
    forced_finish: bool = False
    ttl_after_finish_s: float | None = None  # the result expires this long after the job finished (else: created)
    outcome: str | None = None  # an API's own end state beyond failed/succeeded (busy, no data, aborted)
    deleted: bool = False  # the client deleted it (cleanup) or the API dropped it

    def finished(self, config: SimulatorConfig, now: datetime) -> bool:
        if self.finished_at is not None:
            return True
        if self.never_finish:
            return False
        if self.forced_finish or (
            self.polls >= config.job_polls
            if config.job_polls is not None
            else (now - self.created).total_seconds() >= config.job_duration_s
        ):
            self.finished_at = now
            if self.ttl_after_finish_s is not None and self.expires_at is None:
                self.expires_at = now + timedelta(seconds=self.ttl_after_finish_s)
            return True
        return False

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@dataclass
class Fault:
    route: str
    status: int | None
    retry_after: str | None
    count: int
    drop_after_bytes: int | None
    body: Any


@dataclass
class RequestRecord:
    method: str
    path: str
    route: str
    status: int
    had_authorization: bool  # whether the request carried an Authorization header (never its value)
    origin: str = "api"  # "api": the main listener; "blob": the second origin standing for Azure Storage


@dataclass
class Grant:
    """What a bearer token allows: the audience (which simulated API accepts it), roles, and when it expires."""

    audience: str
    roles: frozenset[str] = frozenset()
    expires: datetime | None = None
    client_id: str = ""

    def valid(self, now: datetime) -> bool:
        return self.expires is None or now < self.expires


class Stats:
    """Counters for tests; read them, don't mutate them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._polls: Counter[str] = Counter()
        self.jobs_created: Counter[str] = Counter()
        self.requests: list[RequestRecord] = []

    def polls(self, job_id: str) -> int:
        with self._lock:
            return self._polls[job_id]

    def count_poll(self, job_id: str) -> None:
        with self._lock:
            self._polls[job_id] += 1

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def requests_for(self, route: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if r.route == route]


class SimState:
    """The mutable world behind both APIs."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.jobs: dict[str, Job] = {}
        self.graph_tokens: dict[str, tuple[set[str], datetime | None]] = {
            GRAPH_FIXTURE_TOKEN: ({"Goals-Export.ReadWrite.All"}, None)
        }
        self.sp_tokens: dict[str, tuple[str, datetime]] = {}  # token -> (client id, expiry)
        self.grants: dict[str, Grant] = {}  # bearer tokens of the other APIs (fixtures and issued ones)
        self.blob_origin = ""  # the second listener's origin, set by the server
        self.blobs: dict[str, Any] = {}  # path on the blob origin -> blobs.StoredBlob
        self.windows: dict[str, deque[float]] = defaultdict(deque)
        self.faults: list[Fault] = []
        self.stats = Stats()
        self._counter = 0

    def serial(self) -> int:
        """A number never given before in this simulator's life (ids are built from it)."""
        with self.lock:
            self._counter += 1
            return self._counter

    def new_job_id(self, api: str) -> str:
        serial = self.serial()
        if api == "graph":
            key = json.dumps({"_type": "ExportJob", "id": f"{serial}{secrets.token_hex(4)}"}, separators=(",", ":"))
            return "j!" + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
        return secrets.token_hex(16)

    def add_job(self, job: Job, ttl_s: float | None = None) -> None:
        """Remember `job`; its result expires `ttl_s` (default: `result_ttl_s`) after creation, unless it has
        `ttl_after_finish_s`, which counts from the moment it finishes."""
        with self.lock:
            if job.ttl_after_finish_s is None:
                job.expires_at = job.created + timedelta(seconds=self.config.result_ttl_s if ttl_s is None else ttl_s)
            self.jobs[job.job_id] = job
            self.stats.jobs_created[job.api] += 1

    def job(self, api: str, job_id: str) -> Job | None:
        """The job of `api` with this id, unless there is none or it was deleted."""
        with self.lock:
            job = self.jobs.get(job_id)
        return job if job is not None and job.api == api and not job.deleted else None

    def take_fail_flag(self) -> bool:
        with self.lock:
            if self.config.fail_jobs > 0:
                self.config.fail_jobs -= 1
                return True
            return False

    def take_fault(self, route: str, *, drop: bool = False) -> Fault | None:
        """Consume one matching fault: a status fault, or (drop=True) a cut-the-body fault."""
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.route in (route, "any") and (fault.drop_after_bytes is not None) == drop:
                    fault.count -= 1
                    return fault
            return None

    def has_fault(self, route: str, *, drop: bool = False) -> bool:
        """Whether `take_fault` would find one (without consuming it)."""
        with self.lock:
            return any(
                f.count > 0 and f.route in (route, "any") and (f.drop_after_bytes is not None) == drop
                for f in self.faults
            )

    def rate_limited(self, key: str) -> float | None:
        """Seconds until the window frees a slot, or None if this request may pass (and is counted)."""
        now = time.monotonic()
        with self.lock:
            window = self.windows[key]
            while window and now - window[0] >= self.config.rate_limit_window_s:
                window.popleft()
            if len(window) >= self.config.rate_limit_requests:
                return self.config.rate_limit_window_s - (now - window[0])
            window.append(now)
            return None

    def issue_graph_token(self, scopes: list[str], ttl_s: float | None) -> str:
        token = "sim-graph-" + secrets.token_urlsafe(24)
        expiry = utcnow() + timedelta(seconds=ttl_s) if ttl_s is not None else None
        with self.lock:
            self.graph_tokens[token] = (set(scopes), expiry)
        return token

    def issue_grant(self, prefix: str, grant: Grant) -> str:
        token = prefix + secrets.token_urlsafe(24)
        with self.lock:
            self.grants[token] = grant
        return token

    def grant_for(self, token: str | None, audience: str) -> Grant | None:
        """The grant of `token` if it was made for `audience` (expired or not), else None."""
        with self.lock:
            grant = self.grants.get(token or "")
        return grant if grant is not None and grant.audience == audience else None

    def issue_sailpoint_token(self, client_id: str) -> tuple[str, float]:
        token = "sim-sp-" + secrets.token_urlsafe(24)
        ttl = self.config.token_ttl_s
        with self.lock:
            self.sp_tokens[token] = (client_id, utcnow() + timedelta(seconds=ttl))
        return token, ttl
