"""Spans: one per activity execution (`activities/observed.py`) and one per upstream HTTP call.

An upstream call's span holds the method, the route template and origin (`routes`), the status, the attempt
(the how-many-th call of that method and route within the activity execution: a 401 retried after a token
refresh is attempt 2) and the server's wait (`Retry-After`, in seconds). Never a header, a query string or
the raw path; an error is recorded by its type or kind, never by its message, since an echoing upstream
can put a credential in any text it sends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from telemetry.routes import origin, recorded_url, route_template

TRACER = "exportpipeline"
ATTEMPT = "upstream.attempt"
SERVER_WAIT = "upstream.server_wait_s"

_calls: ContextVar[Counter[str] | None] = ContextVar("upstream_calls", default=None)


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER)


@contextmanager
def activity_span(name: str, attributes: dict[str, str]) -> Iterator[Span]:
    """The span of one activity execution; upstream calls inside count their attempts afresh."""
    token = _calls.set(Counter())
    try:
        with tracer().start_as_current_span(
            f"activity {name}",
            kind=SpanKind.INTERNAL,
            attributes={"activity": name, **attributes},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as exc:
                failed(span, type(exc).__name__)
                raise
    finally:
        _calls.reset(token)


def failed(span: Span, kind: str) -> None:
    span.set_attribute("error.type", kind)
    span.set_status(Status(StatusCode.ERROR, kind))


class UpstreamCall:
    """The span of one upstream call, told what the server answered."""

    def __init__(self, span: Span) -> None:
        self.span = span

    def answered(self, status: int, server_wait_s: float | None) -> None:
        """The answer's status and the wait it asked for (`Retry-After` as read by the caller), in seconds."""
        self.span.set_attribute("http.response.status_code", status)
        if server_wait_s is not None:
            self.span.set_attribute(SERVER_WAIT, float(server_wait_s))
        if status >= 400:
            failed(self.span, str(status))


@contextmanager
def upstream_call(method: str, url: str) -> Iterator[UpstreamCall]:
    route = route_template(url)
    calls = _calls.get()
    attempt = 1
    if calls is not None:
        calls[f"{method} {route}"] += 1
        attempt = calls[f"{method} {route}"]
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "http.route": route,
        "server.address": origin(url).partition("://")[2] or "unknown",
        "url.full": recorded_url(url),
        ATTEMPT: attempt,
    }
    with tracer().start_as_current_span(
        f"{method} {route}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield UpstreamCall(span)
        except BaseException as exc:
            failed(span, getattr(getattr(exc, "kind", None), "value", None) or type(exc).__name__)
            raise
