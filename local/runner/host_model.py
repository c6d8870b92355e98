"""What the Durable host does with the actions an orchestrator returns: a pure, event-driven model of one replay.

The SDK returns *actions*; the host decides from them which work exists, under
which sequence number, and whether the orchestration may end. Reading the SDK's
private state for that would test the SDK against itself, so the runner asks
this model instead. It plays, from the extension's and DurableTask.Core's
source (Azure/azure-functions-durable-extension, Azure/durabletask):

- `Listener/OutOfProcOrchestrationShim.cs` (schema V2/V3): the actions must be
  one outer array; `ProcessAsyncActionsV2` invokes them in order and awaits each
  before invoking the next (a failed one is ignored); `WhenAny`/`WhenAll` cover
  only their `compoundActions` (the SDK omits children it already scheduled,
  `models/Task.py` `CompoundTask`); .NET `Task.WhenAll` waits for every child
  even after one failed; an empty `Task.WhenAny` throws. Custom status is set
  first; the SDK's error and `isDone` are only acted on once the walk is over.
- `DurableTask.Core/TaskOrchestrationContext.cs`: every scheduling call takes
  the next sequence number when it is *invoked*; a scheduling event in the
  history must match what was invoked under its number (otherwise the host's
  NonDeterministicOrchestrationException); completion events resolve open
  tasks and their continuations run at once (`SynchronousTaskScheduler`), so
  the next action is invoked before the next event is read. A cancelled timer
  is still scheduled but leaves the open tasks at once.
- `DurableTask.Core/TaskOrchestrationExecutor.cs`: `OrchestratorStarted` sets
  the current time; the orchestration completes or fails only when it has no
  open task left (`HasOpenTasks`) — a `task_any` loser keeps it running.
- `DurableTask.Core/RetryInterceptor.cs`: see `_Replay._retry`.

Invoked tasks with no scheduling event in the history are the new work; that
is the only source of new work the runner has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from local.runner import history as h
from local.runner import host_limits as limits
from local.runner.host_limits import HostFault
from local.runner.work import ActivityWork, ChildWork, TimerWork, Work, same_kind


class AsyncActionType(IntEnum):
    """The shim's `AsyncActionType` (the action's `actionType` on the wire)."""

    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    SCHEDULED_SIGNAL_ENTITY = 10
    WHEN_ANY = 11
    WHEN_ALL = 12


class NonDeterminism(Exception):
    """A scheduling event of the history does not match what the replay invoked under its number."""


Action = Mapping[str, Any]


@dataclass(frozen=True)
class SdkState:
    """The parts of the SDK's returned state the shim reads."""

    actions: Sequence[Action]  # the inner array of the V2/V3 `actions` (one outer element)
    is_done: bool = False
    output: Any = None
    error: str | None = None
    custom_status: Any = None


@dataclass(frozen=True)
class HostReplay:
    """The host's view after replaying one history with the orchestrator's actions."""

    invoked: dict[int, Work]  # every task the host invoked, by sequence number
    new_work: list[Work]  # invoked, with no scheduling event in the history yet (sequence order)
    open_ids: frozenset[int]  # invoked and not resolved (a cancelled timer is not open)
    walk_complete: bool  # the shim invoked and awaited every action
    status: str  # "Running", "Completed", "ContinuedAsNew" or "Failed"
    reason: str | None = None  # the failure reason (the OrchestrationFailureException message) when Failed
    output: Any = None
    new_input: Any = None  # the continue-as-new input (as the action carries it)


class _Node:
    """A .NET Task in the model: running until settled, then `ok`, `failed` or `canceled`."""

    def __init__(self) -> None:
        self.state: str | None = None
        self._listeners: list[Callable[[], None]] = []

    def settle(self, state: str) -> None:
        if self.state is None:
            self.state = state
            listeners, self._listeners = self._listeners, []
            for listener in listeners:
                listener()

    def then(self, listener: Callable[[], None]) -> None:
        if self.state is None:
            self._listeners.append(listener)
        else:
            listener()


def _settled(state: str) -> _Node:
    node = _Node()
    node.settle(state)
    return node


@dataclass
class _Replay:
    name: str
    instance_id: str
    actions: list[Action]
    now: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    next_id: int = 0
    invoked: dict[int, Work] = field(default_factory=dict)
    open: dict[int, _Node] = field(default_factory=dict)
    scheduled: set[int] = field(default_factory=set)
    position: int = 0
    walk_complete: bool = False
    fault: str | None = None
    continued: Action | None = None

    # -- the shim ------------------------------------------------------------------------------

    def start(self, custom_status: Any) -> None:
        """`ScheduleDurableTaskEvents`: set the custom status, then walk the actions."""
        try:
            limits.check_custom_status(custom_status)
            self._walk()
        except HostFault as exc:
            self.fault = str(exc)

    def _walk(self) -> None:
        while self.position < len(self.actions):
            node = self.invoke(self.actions[self.position])
            self.position += 1
            if node.state is None:
                node.then(self._resume)
                return
        self.walk_complete = True

    def _resume(self) -> None:
        try:
            self._walk()
        except HostFault as exc:
            self.fault = str(exc)

    def invoke(self, action: Action) -> _Node:
        kind = _kind(action)
        if kind in (AsyncActionType.WHEN_ANY, AsyncActionType.WHEN_ALL):
            children = [self.invoke(child) for child in action.get("compoundActions") or []]
            return _when_any(children) if kind == AsyncActionType.WHEN_ANY else _when_all(children)
        if kind == AsyncActionType.CONTINUE_AS_NEW:
            self.continued = action
            return _settled("ok")
        if kind == AsyncActionType.CREATE_TIMER:
            return self._timer(action)
        if kind in (AsyncActionType.CALL_ACTIVITY_WITH_RETRY, AsyncActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            return self._retry(action)
        if kind in (AsyncActionType.CALL_ACTIVITY, AsyncActionType.CALL_SUB_ORCHESTRATOR):
            return self._call(action)
        raise HostFault(f"the local runner does not support the {kind.name} action")

    # -- DurableTask.Core's context --------------------------------------------------------------

    def _schedule(self, make: Callable[[int], Work]) -> tuple[int, _Node]:
        task_id, self.next_id = self.next_id, self.next_id + 1
        self.invoked[task_id] = make(task_id)
        node = self.open[task_id] = _Node()
        return task_id, node

    def _call(self, action: Action) -> _Node:
        name = str(action.get("functionName"))
        if _kind(action) in (AsyncActionType.CALL_ACTIVITY, AsyncActionType.CALL_ACTIVITY_WITH_RETRY):
            return self._schedule(lambda i: ActivityWork(i, name, action.get("input")))[1]
        explicit = action.get("instanceId")
        if explicit == self.instance_id:
            raise HostFault("The instance ID of a sub-orchestration must be different than the instance ID of a parent")
        child_id = str(explicit) if explicit else None
        return self._schedule(lambda i: ChildWork(i, name, action.get("input"), child_id or f"{self.instance_id}:{i}"))[
            1
        ]

    def _timer(self, action: Action) -> _Node:
        fire_at = str(action.get("fireAt"))
        limits.check_timer(h.parse_time(fire_at) - self.now)
        task_id, node = self._schedule(lambda i: TimerWork(i, fire_at))
        if action.get("isCanceled"):
            self.open.pop(task_id)
            node.settle("canceled")
        return node

    def _retry_timer(self, fire_at: datetime) -> _Node:
        return self._schedule(lambda i: TimerWork(i, h.format_time(fire_at), retry=True))[1]

    def _retry(self, action: Action) -> _Node:
        """`RetryInterceptor.Invoke`: attempts and timers, each id taken when the step is reached.

        The first attempt is invoked at once. After a failed attempt that is not the last, the delay is
        first interval x backoff^attempt (capped at the max interval); none is left once the current time
        reaches first attempt + retry timeout (the task then fails with no timer). After the last failed
        attempt a timer due at the current time is still created ("Dummy timer for back-compat").
        """
        policy = limits.RetryPolicy.from_json(action.get("retryOptions") or {})
        result, first_attempt, attempt = _Node(), self.now, 0

        def start_attempt() -> None:
            node = self._call(action)
            node.then(lambda: after_attempt(node))

        def after_attempt(node: _Node) -> None:
            nonlocal attempt
            if node.state == "ok":
                result.settle("ok")
            elif attempt + 1 == policy.max_attempts:
                self._retry_timer(self.now).then(lambda: result.settle("failed"))
            elif (delay := policy.next_delay(attempt, first_attempt, self.now)) is None:
                result.settle("failed")
            else:
                attempt += 1
                self._retry_timer(self.now + delay).then(start_attempt)

        if policy.max_attempts <= 0:
            result.settle("ok")  # the interceptor's loop never runs: the call "returns default"
        else:
            start_attempt()
        return result

    # -- the executor's event loop ------------------------------------------------------------------

    def play(self, event: h.Event, sdk: SdkState) -> None:
        kind = event["EventType"]
        if kind == h.EventType.ORCHESTRATOR_STARTED:
            self.now = h.parse_time(event["Timestamp"])
        elif kind == h.EventType.EXECUTION_STARTED:
            self.start(sdk.custom_status)
        elif kind in h.SCHEDULING:
            self._match(event)
        elif kind in h.RESOLVING:
            node = self.open.pop(event[h.RESOLVING[kind]], None)
            if node is not None:  # a duplicate, or a cancelled timer's firing, is ignored as the host does
                failed = kind in (h.EventType.TASK_FAILED, h.EventType.SUB_ORCHESTRATION_FAILED)
                node.settle("failed" if failed else "ok")

    def _match(self, event: h.Event) -> None:
        task_id = event["EventId"]
        recorded = h.EventType(event["EventType"]).name
        work = self.invoked.get(task_id)
        if work is None or task_id in self.scheduled:
            raise NonDeterminism(
                f"Non-Deterministic workflow detected: a previous execution of this orchestration scheduled "
                f"{recorded} {event.get('Name') or ''} with sequence number {task_id}, but the current replay "
                "execution hasn't (yet?) scheduled this task"
            )
        if not same_kind(work, event):
            raise NonDeterminism(
                f"Non-Deterministic workflow detected: a previous execution of this orchestration scheduled "
                f"{recorded} {event.get('Name') or ''} with sequence number {task_id}, but the current replay "
                f"produced {_describe(work)} with this sequence number"
            )
        self.scheduled.add(task_id)


def _kind(action: Action) -> AsyncActionType:
    value = action.get("actionType")
    if value not in set(AsyncActionType):
        raise HostFault(f"Received an unexpected action type from the out-of-proc function: '{value}'")
    return AsyncActionType(value)


def _when_any(children: list[_Node]) -> _Node:
    if not children:
        raise HostFault("The tasks argument contains no tasks (an empty WhenAny)")
    node = _Node()
    for child in children:
        child.then(lambda: node.settle("ok"))
    return node


def _when_all(children: list[_Node]) -> _Node:
    node = _Node()

    def check() -> None:
        if all(child.state is not None for child in children):
            failed = any(child.state != "ok" for child in children)
            node.settle("failed" if failed else "ok")

    for child in children:
        child.then(check)
    check()
    return node


def _describe(work: Work) -> str:
    return "a timer" if isinstance(work, TimerWork) else f"{type(work).__name__} {work.name}"


def interpret(sdk: SdkState, history: Iterable[h.Event], name: str, instance_id: str) -> HostReplay:
    """Replay `history` as the host does with the orchestrator's returned `sdk` state."""
    replay = _Replay(name, instance_id, list(sdk.actions))
    try:
        for event in history:
            replay.play(event, sdk)
    except NonDeterminism as exc:
        return _outcome(replay, "Failed", reason=str(exc))
    except HostFault as exc:
        replay.fault = replay.fault or str(exc)
    return _conclude(replay, sdk)


def _conclude(replay: _Replay, sdk: SdkState) -> HostReplay:
    if replay.open:  # `HasOpenTasks`: nothing ends while a task is open
        return _outcome(replay, "Running")
    failure = replay.fault or (sdk.error if replay.walk_complete else None)
    if failure is not None:
        return _outcome(replay, "Failed", reason=failure_reason(replay.name, failure))
    if not (replay.walk_complete and sdk.is_done):
        return _outcome(replay, "Running")
    if replay.continued is not None:
        return _outcome(replay, "ContinuedAsNew", new_input=replay.continued.get("input"))
    return _outcome(replay, "Completed", output=sdk.output)


def _outcome(replay: _Replay, status: str, **fields: Any) -> HostReplay:
    new = [work for task_id, work in sorted(replay.invoked.items()) if task_id not in replay.scheduled]
    return HostReplay(
        invoked=dict(replay.invoked),
        new_work=new if status == "Running" else [],
        open_ids=frozenset(replay.open),
        walk_complete=replay.walk_complete,
        status=status,
        **fields,
    )


def failure_reason(name: str, error: str) -> str:
    """The OrchestrationFailureException message (`TaskOrchestrationShim`, `OutOfProcOrchestrationShim`)."""
    return f"Orchestrator function '{name}' failed: {error}"
