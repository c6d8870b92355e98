"""Running one activity in-process, and each finished piece of work as its history event, worded as the host words it.

The host serialises an activity's input and result as JSON, so an activity here
gets its input after a JSON round trip and a result that cannot be serialised
fails the task. Anything that is not an `Exception` (KeyboardInterrupt,
SystemExit, a test's simulated crash) is the process dying, so it propagates.

Failure text follows the chain in production: the Python worker reports an
exception as `"<Type>: <message>"` (`Dispatcher._serialize_exception`), the
Functions host wraps it as `"Result: Failure\nException: <that>\nStack: ..."`
(`RpcException`), and the extension's `Listener/TaskActivityShim.cs` cuts out
the part after `Exception:` (`OutOfProcExceptionHelpers`, which keeps the
leading space) and fails the task with `"Activity function '<name>' failed:
<that>"`, the serialised exception as details. A failed child's
`SubOrchestrationInstanceFailed` carries the child's failure reason
(`Orchestrator function '<name>' failed: <error>`, see `host_model`) and the
shim's details `"Message: <error>, StackTrace: ..."`; a terminated child's
carries the termination reason and no details (DurableTask.Core
`TaskOrchestrationDispatcher`, `TaskOrchestrationContext.HandleExecutionTerminatedEvent`).
The SDK shows the orchestrator `"<Reason> \n <Details>"`.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from local.runner import history as h
from local.runner.host_model import failure_reason
from local.runner.results import OrchestrationResult
from local.runner.work import ActivityWork, ChildWork

Activity = Callable[[Any], Any]
STACK_FRAMES = 5


class UnknownFunction(LookupError):
    """An activity or orchestrator name that nothing is registered under."""


def failure_of(name: str, exc: BaseException) -> tuple[str, str]:
    """(Reason, Details) of the TaskFailed event for activity `name` that raised `exc`."""
    friendly = f" {type(exc).__name__}: {exc}"  # the worker's message, as cut out of the RpcException text
    stack = "".join(traceback.format_tb(exc.__traceback__, limit=-STACK_FRAMES))
    cause = {"ClassName": "System.Exception", "Message": friendly, "RemoteStackTraceString": stack}
    return f"Activity function '{name}' failed: {friendly}", json.dumps(cause)


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
        return h.task_failed(now(), work.task_id, *failure_of(work.name, exc))
    return h.task_completed(now(), work.task_id, result_json)


def child_event(work: ChildWork, result: OrchestrationResult, at: datetime) -> h.Event:
    """The parent's SubOrchestrationInstanceCompleted or ...Failed event for a finished child."""
    if result.status == "Completed":
        return h.sub_orchestration_completed(at, work.task_id, json.dumps(result.output))
    reason = result.error or ""
    if result.status == "Terminated":
        return h.sub_orchestration_failed(at, work.task_id, reason, None)
    message = reason.removeprefix(failure_reason(work.name, ""))
    return h.sub_orchestration_failed(at, work.task_id, reason, f"Message: {message}, StackTrace: ")


def child_not_started(work: ChildWork, exc: Exception, at: datetime) -> h.Event:
    return h.sub_orchestration_failed(at, work.task_id, failure_reason(work.name, f"{type(exc).__name__}: {exc}"), None)
