"""One replay through the SDK's real entry point, turned into a decision the runner can act on.

Everything the runner knows about an orchestrator comes from
`df.Orchestrator(fn).handle(df.DurableOrchestrationContext.from_json(payload))`,
given the payload the host would send. The action schema is pinned to V1 so the
returned actions always have one layout: a list per `yield`, append-only across
replays. The SDK reports an orchestrator exception by raising, with its state
appended to the message after a marker; that is the out-of-process protocol,
so it is parsed here rather than by reaching into the executor.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.actions.ActionType import ActionType

from local.runner import history as h
from local.runner.sdk_tasks import NonDeterministic, UnsupportedAction, check_supported, pending_work
from local.runner.work import Work

SCHEMA_V1 = 0  # `upperSchemaVersion`: actions come back as one list of action dicts per yield
OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"

Orchestrator = Callable[..., Any]


@dataclass(frozen=True)
class Decision:
    """What the orchestrator wants after seeing the history so far."""

    actions: list[dict[str, Any]]  # all actions so far, flattened (V1 is append-only)
    new_work: list[Work]
    cancelled_timers: frozenset[int]
    custom_status: Any
    done: bool
    output: Any
    error: str | None
    continue_as_new: bool
    new_input: str | None  # JSON text of the continue-as-new input


def payload(history: list[h.Event], input_json: str | None, instance_id: str, parent: str | None = None) -> str:
    return json.dumps(
        {
            "history": h.marked_for_replay(history),
            "instanceId": instance_id,
            "isReplaying": False,
            "parentInstanceId": parent,
            "input": input_json,
            "upperSchemaVersion": SCHEMA_V1,
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
    """A flat list of action dicts from the SDK's V1 state, its list of lists, or an already flat list."""
    groups = (actions.get("actions") or []) if isinstance(actions, Mapping) else actions
    flat: list[dict[str, Any]] = []
    for group in groups:
        flat.extend(group if isinstance(group, list) else [group])
    return flat


def replay_actions(
    fn: Orchestrator, history: list[h.Event], input: str | None, instance_id: str
) -> list[dict[str, Any]]:
    """Replay `history` through the SDK once; every action it has asked for so far, as plain dicts.

    `input` is the orchestration input as JSON text, as recorded in the history's ExecutionStarted event
    (`history[1]["Input"]`). V1 actions are append-only, so the actions new at a point of the history are
    the tail beyond what the previous point returned. An orchestrator exception still returns its actions.
    """
    context = df.DurableOrchestrationContext.from_json(payload(history, input, instance_id))
    return flatten_actions(_state(fn, context))


def _continue_input(actions: list[dict[str, Any]]) -> tuple[bool, str | None]:
    continued = [action for action in actions if action["actionType"] == ActionType.CONTINUE_AS_NEW]
    return (True, continued[-1].get("input")) if continued else (False, None)


def replay(
    fn: Orchestrator, history: list[h.Event], input_json: str | None, instance_id: str, parent: str | None = None
) -> Decision:
    context = df.DurableOrchestrationContext.from_json(payload(history, input_json, instance_id, parent))
    state = _state(fn, context)
    actions = flatten_actions(state)
    error: str | None = state.get("error")
    work: list[Work] = []
    cancelled: frozenset[int] = frozenset()
    if error is None:
        try:
            check_supported(actions)
            work, cancelled = pending_work(context, history, instance_id)
        except (UnsupportedAction, NonDeterministic) as exc:
            error = str(exc)
    continued, new_input = _continue_input(actions)
    return Decision(
        actions=actions,
        new_work=work,
        cancelled_timers=cancelled,
        custom_status=context.custom_status,
        done=bool(state.get("isDone")),
        output=state.get("output"),
        error=error,
        continue_as_new=continued,
        new_input=new_input,
    )
