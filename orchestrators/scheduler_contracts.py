"""What the scheduler's activities take and answer (see `orchestrators.scheduled_exports`).

A lane's input is only where it stands in its plan (the plan id, its lane number, its claim number and the
outcome it still has to report): it never carries exports, so it stays the same size however long the tick.
"""

from __future__ import annotations

from typing import Any, Literal

from orchestrators.contracts import Contract

Outcome = Literal["succeeded", "failed"]


class Reported(Contract):
    index: int
    outcome: Outcome


class PlanRequest(Contract):
    plan_id: str
    exports: list[dict[str, Any]]  # {"target", "run_key", "instance_id"}, as the timer tick planned them


class PlanAnswer(Contract):
    count: int
    known: int  # exports whose target has a last observed duration (the rest are claimed first, in plan order)


class LaneInput(Contract):
    plan_id: str
    lane: int
    claim: int = 0  # this lane's next claim number
    reported: Reported | None = None  # the outcome of the lane's previous export


class ClaimAnswer(Contract):
    index: int  # -1: nothing left (or the plan was closed)
    export: dict[str, Any] | None


class CloseRequest(Contract):
    plan_id: str
