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

ROUTES = (
    "graph.create",
    "graph.get",
    "graph.list",
    "graph.content",
    "sp.token",
    "sp.create",
    "sp.status",
    "sp.download",
    "any",
)


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
    api: str  # graph | sailpoint
    job_id: str
    created: datetime
    will_fail: bool
    never_finish: bool
    org: str = ""
    view: str = ""
    description: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    polls: int = 0
    finished_at: datetime | None = None
    expires_at: datetime | None = None
    forced_finish: bool = False

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
    had_authorization: bool


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
        self.windows: dict[str, deque[float]] = defaultdict(deque)
        self.faults: list[Fault] = []
        self.stats = Stats()
        self._counter = 0

    def new_job_id(self, api: str) -> str:
        with self.lock:
            self._counter += 1
            serial = self._counter
        if api == "graph":
            key = json.dumps({"_type": "ExportJob", "id": f"{serial}{secrets.token_hex(4)}"}, separators=(",", ":"))
            return "j!" + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
        return secrets.token_hex(16)

    def add_job(self, job: Job) -> None:
        with self.lock:
            job.expires_at = job.created + timedelta(seconds=self.config.result_ttl_s)
            self.jobs[job.job_id] = job
            self.stats.jobs_created[job.api] += 1

    def poll(self, job: Job, status_of: Callable[[Job, SimState, datetime], str]) -> str:
        """Count one status request for `job` and return its status in the API's own words."""
        with self.lock:
            job.polls += 1
            self.stats.count_poll(job.job_id)
            return status_of(job, self, utcnow())

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

    def issue_sailpoint_token(self, client_id: str) -> tuple[str, float]:
        token = "sim-sp-" + secrets.token_urlsafe(24)
        ttl = self.config.token_ttl_s
        with self.lock:
            self.sp_tokens[token] = (client_id, utcnow() + timedelta(seconds=ttl))
        return token, ttl


def retry_after_header(seconds: int | None, still_running: bool) -> dict[str, str]:
    return {"Retry-After": str(seconds)} if seconds is not None and still_running else {}
