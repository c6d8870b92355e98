"""The job lifecycle every simulated API shares, written once: find or 404, count a poll, Retry-After while
running, expiry, and a result body that may be cut or slow.

What differs per API (the status words, the envelopes, the URLs) stays in the API's module; what is here is the
same for all of them, so a fault switch means the same thing on every API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from local.simulator.exchange import Exchange
from local.simulator.state import Fault, Job, SimState, utcnow


def find_or_404(state: SimState, api: str, job_id: str, not_found: Callable[[], None]) -> Job | None:
    """The job, or None after `not_found()` answered (no such job for this API, or deleted)."""
    job = state.job(api, job_id)
    if job is None:
        not_found()
    return job


def poll(state: SimState, job: Job, status_of: Callable[[Job, SimState, datetime], str]) -> str:
    """Count one status request for `job` and return its status in the API's own words."""
    with state.lock:
        job.polls += 1
        state.stats.count_poll(job.job_id)
        return status_of(job, state, utcnow())


def peek(state: SimState, job: Job, status_of: Callable[[Job, SimState, datetime], str]) -> str:
    """`job`'s status without counting a poll (downloads and lists look, they do not poll)."""
    with state.lock:
        return status_of(job, state, utcnow())


def retry_after_header(seconds: int | None, still_running: bool) -> dict[str, str]:
    return {"Retry-After": str(seconds)} if seconds is not None and still_running else {}


def fault_headers(fault: Fault) -> dict[str, str]:
    return {"Retry-After": fault.retry_after} if fault.retry_after else {}


ErrorSender = Callable[[Exchange, int, str, str, dict[str, str]], None]


def send_fault(
    ex: Exchange,
    fault: Fault,
    error: ErrorSender,
    words: Mapping[int, tuple[str, str]],
    otherwise: tuple[str, str],
) -> None:
    """An injected fault as the API answers it: the fault's own body if it gives one, else the API's error
    envelope (`error`) with the API's code and message for that status (`words`, else `otherwise`)."""
    headers = fault_headers(fault)
    if fault.body is not None:
        ex.send_json(fault.status or 500, fault.body, headers)
        return
    status = fault.status or 503
    code, message = words.get(status, otherwise)
    error(ex, status, code, message, headers)


def expired(job: Job) -> bool:
    return job.expired(utcnow())


def send_result(
    ex: Exchange,
    state: SimState,
    chunks: Iterable[bytes],
    *,
    content_type: str,
    length: int | None,
    headers: dict[str, str] | None = None,
) -> None:
    """A result body at the configured pace, cut where a `drop_after_bytes` fault on this route says."""
    fault = state.take_fault(ex.route, drop=True)
    ex.send_stream(
        200,
        content_type,
        chunks,
        length=length,
        drop_after=fault.drop_after_bytes if fault else None,
        bytes_per_s=state.config.content_bytes_per_s,
        headers=headers,
    )


def chunked(data: bytes, chunk_size: int) -> Iterable[bytes]:
    """`data` in pieces of `chunk_size`, so a slow body pauses between them."""
    return (data[at : at + chunk_size] for at in range(0, len(data), chunk_size)) if data else iter([b""])
