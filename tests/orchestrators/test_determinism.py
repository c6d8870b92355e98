"""Replaying any prefix of a recorded export history through the SDK must ask for the same actions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from local.cli import run_export
from local.runner import flatten_actions, replay_actions
from local.runner.history import EventType
from local.simulator import Simulator
from orchestrators.export_orchestrator import export_orchestrator
from tests.support.targets import viva_target

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("export_env")]


def episode_ends(history: list[dict[str, Any]]) -> list[int]:
    return [i for i, event in enumerate(history) if event["EventType"] == EventType.ORCHESTRATOR_COMPLETED]


def scheduled_in(events: list[dict[str, Any]]) -> list[str]:
    """What the host recorded as scheduled in one episode: activity names and timer due times."""
    kinds = {EventType.TASK_SCHEDULED: "Name", EventType.TIMER_CREATED: "FireAt"}
    return [str(e[kinds[e["EventType"]]]) for e in events if e["EventType"] in kinds]


def requested(actions: list[dict[str, Any]]) -> list[str]:
    return [str(a.get("functionName") or a.get("fireAt")) for a in actions]


def test_every_prefix_of_a_recorded_export_replays_to_the_same_actions(simulator: Simulator) -> None:
    simulator.config.job_polls = 3
    simulator.inject("graph.get", status=503, retry_after=5)
    result = run_export(viva_target(simulator), run_key=uuid.uuid4().hex, timer_scale=0.001)
    assert result.status == "Completed", result.error
    history = result.histories[0]
    input_json = history[1]["Input"]
    ends = episode_ends(history)
    assert len(ends) >= 6  # create, polls, a 503 wait, download, notify

    previous: list[dict[str, Any]] = []
    start = 0
    for end in ends:
        actions = flatten_actions(replay_actions(export_orchestrator, history[:end], input_json, result.instance_id))
        again = flatten_actions(replay_actions(export_orchestrator, history[:end], input_json, result.instance_id))
        assert actions == again
        assert actions[: len(previous)] == previous  # append-only: nothing already decided changes
        new = actions[len(previous) :]
        recorded = scheduled_in(history[start:end])
        assert requested([a for a in new if a["actionType"] != 4]) == recorded
        previous, start = actions, end + 1
