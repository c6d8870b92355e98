"""One replay through the SDK's real entry point, read back the way the Durable host reads it.

This is the one module that calls the SDK:
`df.Orchestrator(fn).handle(df.DurableOrchestrationContext.from_json(payload))`, with the payload the
extension builds in `Bindings/OrchestrationTriggerAttributeBindingProvider.cs` (`OrchestrationContextToString`):
`history`, `input`, `instanceId`, `isReplaying`, `parentInstanceId`, `upperSchemaVersion` 1 (V2) and
`upperSchemaVersionNew` 2 (V3), the Azure Storage timer settings and the HTTP polling default. The SDK
reports an orchestrator exception by raising with its state appended after a marker (the out-of-process
protocol), so that is parsed here. What the returned actions *mean* is decided by `host_model`, never by
the SDK's private state; that state is read once, after the fact, only to check that the SDK numbered its
tasks as the host did, because if they disagree every result would be delivered to the wrong task.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import azure.durable_functions as df

from local.runner import history as h
from local.runner import host_limits as limits
from local.runner.host_model import HostReplay, SdkState, interpret
from local.runner.work import Work

SCHEMA_V2 = 1  # `upperSchemaVersion`: what the extension sends for SDKs that predate V3
SCHEMA_V3 = 2  # `upperSchemaVersionNew`: the schema the SDK then runs
OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"

Orchestrator = Callable[..., Any]


class HostModelMismatch(AssertionError):
    """The SDK numbered its tasks differently from the host model: the runner cannot be trusted; stop."""


@dataclass(frozen=True)
class Decision:
    """What the host does after this replay."""

    actions: list[dict[str, Any]]  # the orchestrator's actions so far, in yield order (V3 is append-only)
    new_work: list[Work]
    custom_status: Any
    custom_status_accepted: bool  # False when the host's SetCustomStatus would have thrown
    status: str  # Running, Completed, ContinuedAsNew, Failed (host_model.HostReplay.status)
    output: Any
    error: str | None  # the failure reason, shaped as the host shapes it
    new_input: str | None  # JSON text of the continue-as-new input


def payload(history: list[h.Event], input_json: str | None, instance_id: str, parent: str | None = None) -> str:
    """The extension's payload. `input` is `GetInputAsJson()`: the parsed input token; a Python caller sends
    its input as JSON text inside a JSON string, so the token is that text, which the SDK parses again."""
    played = h.marked_for_replay(history)
    return json.dumps(
        {
            "history": played,
            "input": input_json,
            "instanceId": instance_id,
            "isReplaying": h.is_replaying(played),
            "parentInstanceId": parent,
            "upperSchemaVersion": SCHEMA_V2,
            "upperSchemaVersionNew": SCHEMA_V3,
            "longRunningTimerIntervalDuration": limits.LONG_TIMER_INTERVAL_TEXT,
            "maximumShortTimerDuration": limits.MAX_DELAY_TEXT,
            "defaultHttpAsyncRequestSleepTimeMillseconds": limits.DEFAULT_HTTP_ASYNC_SLEEP_MS,
        }
    )


def _state(fn: Orchestrator, context: Any) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(df.Orchestrator(fn).handle(context))
    except Exception as exc:
        message, marker, data = str(exc).partition(OUT_OF_PROC_MARKER)
        if not marker:
            raise
        state = json.loads(data)
        state["error"] = state.get("error") or message
    return state


def flatten_actions(actions: Mapping[str, Any] | Sequence[Any]) -> list[dict[str, Any]]:
    """The scheduling actions, in the order the host invokes them: from an SDK state or its `actions`
    (V3: one outer element), with `WhenAny`/`WhenAll` replaced by the children they list."""
    groups = (actions.get("actions") or []) if isinstance(actions, Mapping) else actions
    flat: list[dict[str, Any]] = []
    for item in groups:
        if isinstance(item, list):
            flat.extend(flatten_actions(item))
        elif "compoundActions" in item:
            flat.extend(flatten_actions(item.get("compoundActions") or []))
        else:
            flat.append(item)
    return flat


def replay_actions(
    fn: Orchestrator, history: list[h.Event], input: str | None, instance_id: str
) -> list[dict[str, Any]]:
    """Replay `history` through the SDK once; every action it has returned so far, as plain dicts.

    `input` is the orchestration input as JSON text (`history[1]["Input"]`). An orchestrator exception
    still returns its actions.
    """
    context = df.DurableOrchestrationContext.from_json(payload(history, input, instance_id))
    return flatten_actions(_state(fn, context))


def _sdk_state(state: dict[str, Any]) -> tuple[SdkState, str | None]:
    """The shim's reading of the state; a second value if the outer array breaks the V2/V3 rule."""
    outer = state.get("actions") or [[]]
    problem = None
    if len(outer) != 1:
        problem = (
            f"With OOProc schema V3, expected actions array to be of length 1 in outer layer but got size: {len(outer)}"
        )
    sdk = SdkState(
        actions=list(outer[0]) if outer else [],
        is_done=bool(state.get("isDone")),
        output=state.get("output"),
        error=state.get("error"),
        custom_status=state.get("customStatus"),
    )
    return sdk, problem


def _sdk_open_ids(context: Any) -> set[int]:
    """The SDK's numbered, unfinished, uncancelled tasks (private state: a cross-check only)."""
    ids = set()
    for task in getattr(context, "open_tasks", {}).values():
        cancelled = getattr(getattr(task, "action_repr", None), "is_cancelled", False)
        if isinstance(getattr(task, "id", None), int) and not cancelled:
            ids.add(int(task.id))
    return ids


def cross_check(host: HostReplay, sdk: SdkState, sdk_open: set[int], instance_id: str) -> None:
    """Every task the host holds open is one the SDK holds open under the same number, and vice versa once
    the host has walked every action while the SDK still runs (before that the SDK may hold tasks the host
    has not reached; after the orchestrator returned or raised, the SDK stops reading the history)."""
    missing = sorted(host.open_ids - sdk_open)
    settled = host.walk_complete and not sdk.is_done and sdk.error is None
    extra = sorted(sdk_open - host.open_ids) if settled else []
    if missing or extra:
        raise HostModelMismatch(
            f"instance {instance_id}: the host model holds tasks {sorted(host.open_ids)} open and the SDK "
            f"holds {sorted(sdk_open)}; the SDK and the host model disagree on sequence numbers "
            f"(host-only {missing}, SDK-only {extra})"
        )


def replay(
    fn: Orchestrator,
    history: list[h.Event],
    input_json: str | None,
    instance_id: str,
    parent: str | None = None,
    name: str = "",
) -> Decision:
    context = df.DurableOrchestrationContext.from_json(payload(history, input_json, instance_id, parent))
    state = _state(fn, context)
    sdk, problem = _sdk_state(state)
    if problem is not None:
        sdk = SdkState(actions=[], error=problem, is_done=True)
    host = interpret(sdk, history, name, instance_id)
    if host.status == "Running":
        cross_check(host, sdk, _sdk_open_ids(context), instance_id)
    return Decision(
        actions=flatten_actions(state),
        new_work=host.new_work,
        custom_status=sdk.custom_status,
        custom_status_accepted=_fits(sdk.custom_status),
        status=host.status,
        output=host.output,
        error=host.reason,
        new_input=host.new_input,
    )


def _fits(status: Any) -> bool:
    try:
        limits.check_custom_status(status)
    except limits.HostFault:
        return False
    return True
