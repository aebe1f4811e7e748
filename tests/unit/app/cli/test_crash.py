"""A ``stackchain`` command that crashes prints its traceback without local variables."""

import os
import subprocess
import sys

TOKEN = "cli-token-3d9f61aa"
PROGRAM = f"""
import sys
from app.cli import app

@app.command()
def crash() -> None:
    token = {TOKEN!r}
    raise RuntimeError("the command crashed")

app.pretty_exceptions_show_locals = app.pretty_exceptions_show_locals or "--locals" in sys.argv
app(["crash"])
"""


def crash(*args: str) -> subprocess.CompletedProcess[str]:
    """The real ``stackchain`` app, with a test-only command that crashes holding a token."""
    return subprocess.run(  # noqa: S603 - this interpreter, a fixed program
        [sys.executable, "-c", PROGRAM, *args],
        env={"PATH": os.environ.get("PATH", ""), "FORCE_COLOR": "1", "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_crash_shows_the_error_but_not_the_locals() -> None:
    """Exit 1 and typer's traceback naming the error; the token in a local stays out of it."""
    result = crash()
    assert result.returncode == 1
    assert "the command crashed" in result.stderr
    assert TOKEN not in result.stderr


def test_the_probe_sees_locals_when_they_are_shown() -> None:
    """The check above can fail: with locals switched on, the token shows."""
    assert TOKEN in crash("--locals").stderr
