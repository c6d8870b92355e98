"""Turn runner events and custom status into readable progress lines on stderr.

Every value shown comes from an upstream, a targets file or an exception, so each
one is escaped before it meets rich's markup: `[/bold]` in a job status is
text, not a tag that ends the run with a traceback.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from local.runner import RunnerEvent
from orchestrators.contracts import ExportProgress


def _text(value: Any) -> str:
    """A value as literal text for rich: markup in it is escaped."""
    return escape(str(value))


class ProgressPrinter:
    """Prints one line per meaningful change: phase, upstream status, waits, bytes."""

    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self.quiet = quiet
        self._last: tuple[Any, ...] | None = None

    def __call__(self, event: RunnerEvent) -> None:
        if self.quiet:
            return
        progress = ExportProgress.read(event.detail.get("status")) if event.kind == "custom_status" else None
        if progress is not None:
            self._status(progress)
        elif event.kind == "timer_created":
            self.console.print(
                f"  … waiting {event.detail['seconds']:.0f} s (durable timer, due {_text(event.detail['fire_at'])})"
            )
        elif event.kind == "activity_failed":
            self.console.print(f"  ! activity {_text(event.detail['name'])} failed: {_text(event.detail['reason'])}")
        elif event.kind == "continued_as_new":
            self.console.print(f"  ↻ continued as new (generation {_text(event.detail['generation'])})")

    def _status(self, status: ExportProgress) -> None:
        key = (status.phase, status.upstream_status, status.polls, status.bytes)
        if key == self._last or status.phase == "waiting":
            return
        self._last = key
        parts = [f"[bold]{_text(status.target)}[/bold] {_text(status.phase)}"]
        if status.job_id:
            parts.append(f"job {_text(status.job_id[:24])}")
        if status.upstream_status:
            parts.append(f"upstream {_text(status.upstream_status)}")
        parts.append(f"polls {status.polls}")
        if status.bytes is not None:
            parts.append(f"{status.bytes:,} bytes")
        if status.last_error and status.phase in ("failed", "notifying"):
            parts.append(f"({_text(status.last_error)})")
        self.console.print(" · ".join(parts))
