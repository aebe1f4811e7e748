"""Recorded histories replay against the current workflow code: changes stay replay-safe."""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from temporal.client import DATA_CONVERTER
from temporal.worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
STORED = {path: json.loads(path.read_text()) for path in HISTORIES}


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    """A history recorded by an earlier version replays without a nondeterminism error."""
    stored = STORED[path]
    history = WorkflowHistory.from_json(stored["workflow_id"], stored["history"])
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


def test_histories_are_there() -> None:
    """The replay test has a chain and a lane history to replay."""
    assert {path.stem.split("_")[0] for path in HISTORIES} == {"chain", "lane"}
