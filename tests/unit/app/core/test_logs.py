"""Log lines: JSON off a terminal, with chain, stack and run ids, and no secrets."""

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from app.core.logs import bind_context, configure_logging, get_logger, new_request_context


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    del capsys  # capture first, so the loggers write to the captured stream
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(json_lines=True)
    yield
    structlog.reset_defaults()
    root.handlers, root.level = handlers, level


@pytest.mark.usefixtures("json_logs")
def test_log_lines_are_json_with_chain_stack_and_run_and_no_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Off a terminal, lines are JSON with chain_id, stack_id and run_id; secrets are masked."""
    new_request_context()
    get_logger("t").info("before")
    bind_context(chain_id="chain-a-1", stack_id="a", run_id="r1")
    get_logger("t").info("after", api_token="s3cret-value", webhook_secret="s3cret-value")
    logging.getLogger("stdlib").warning("from the standard library")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == ["before", "after", "from the standard library"]
    for line in lines:
        assert {"chain_id", "stack_id", "run_id", "timestamp", "level"} <= set(line)
    assert (lines[1]["chain_id"], lines[1]["stack_id"], lines[1]["run_id"]) == (
        "chain-a-1",
        "a",
        "r1",
    )
    assert "s3cret-value" not in json.dumps(lines)
