"""What the scheduler's orchestrations and activities take and answer (see `orchestrators.scheduled_exports`).

One set of shapes for the claim-based scheduler, each a versioned `Contract` (its JSON carries
`schema_version`; a reader takes the current and the previous version and refuses any other by name). The
exports are `ScheduledExport`s, whose target is the validated `targets.Target`.

A lane's input is only where it stands in its plan (the plan id, its lane number, its claim number and the
outcome it still has to report): it never carries exports, so it stays the same size however long the tick.
The custom statuses of the scheduler and of its lanes are contracts too, so what an operator's tool reads of
them is versioned like everything else the host keeps.
"""

from __future__ import annotations

from typing import Literal

from orchestrators.contracts import Contract, ScheduledExport

Outcome = Literal["succeeded", "failed"]


class Reported(Contract):
    index: int
    outcome: Outcome


class PlanRequest(Contract):
    plan_id: str
    exports: list[ScheduledExport]  # as the timer tick planned them, in the tick's order


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
    export: ScheduledExport | None


class CloseRequest(Contract):
    plan_id: str


class CloseAnswer(Contract):
    outcomes: dict[str, Outcome]  # export instance id -> outcome, for every export whose lane reported it


class SchedulerStatus(Contract):
    """The scheduler orchestration's custom status."""

    exports: int
    lanes: int


class LaneStatus(Contract):
    """A lane's custom status: claims made so far and the export it runs (None between exports and at the end)."""

    claims: int
    running: str | None
