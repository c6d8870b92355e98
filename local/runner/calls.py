"""Running one activity in-process, and turning any finished piece of work into its history event.

The host serialises an activity's input and result as JSON, so an activity here
gets its input after a JSON round trip and a result that cannot be serialised
fails the task instead of slipping through as a Python object the real host
would reject. An ordinary exception becomes a `TaskFailed` event carrying the
exception's type and message as the reason (what the SDK raises inside the
orchestrator) and a short stack as details. Anything that is not an
`Exception` (KeyboardInterrupt, SystemExit, a test's simulated crash) is not a
task failure but the process dying, so it is left to propagate.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from local.runner import history as h
from local.runner.results import OrchestrationResult
from local.runner.work import ActivityWork, ChildWork

Activity = Callable[[Any], Any]
STACK_FRAMES = 5


class UnknownFunction(LookupError):
    """An activity or orchestrator name that nothing is registered under."""


def failure_of(exc: BaseException) -> tuple[str, str]:
    """(reason, details) of a failed task, as the SDK hands them to the orchestrator: `reason \\n details`."""
    reason = f"{type(exc).__name__}: {exc}"
    stack = traceback.format_tb(exc.__traceback__, limit=-STACK_FRAMES)
    return reason, "Traceback (most recent call last):\n" + "".join(stack)


def _result_json(name: str, value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"activity {name!r} returned a value that is not JSON-serialisable: {exc}") from exc


def _invoke(function: Activity | None, work: ActivityWork) -> str:
    if function is None:
        raise UnknownFunction(f"the function {work.name!r} doesn't exist, is disabled, or is not an activity function")
    argument = json.loads(work.input_json) if work.input_json is not None else None
    return _result_json(work.name, function(argument))


def call_activity(function: Activity | None, work: ActivityWork, now: Callable[[], datetime]) -> h.Event:
    """Run the activity; its TaskCompleted or TaskFailed event. Non-`Exception` errors propagate."""
    try:
        result_json = _invoke(function, work)
    except Exception as exc:
        return h.task_failed(now(), work.task_id, *failure_of(exc))
    return h.task_completed(now(), work.task_id, result_json)


def child_event(work: ChildWork, result: OrchestrationResult, at: datetime) -> h.Event:
    """The parent's SubOrchestrationInstanceCompleted or ...Failed event for a finished child."""
    if result.status == "Completed":
        return h.sub_orchestration_completed(at, work.task_id, json.dumps(result.output))
    verb = "failed" if result.status == "Failed" else "was terminated"
    return h.sub_orchestration_failed(
        at, work.task_id, f"Orchestrator function {work.name!r} {verb}: {result.error}", ""
    )


def child_not_started(work: ChildWork, exc: Exception, at: datetime) -> h.Event:
    return h.sub_orchestration_failed(at, work.task_id, f"{type(exc).__name__}: {exc}", "")
