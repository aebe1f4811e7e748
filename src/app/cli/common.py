"""What every ``stackchain`` command shares: how it fails, reads the settings, picks its output."""

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from app.core.local_files import env_file_warning
from app.core.settings import Settings, SettingsError, get_settings

USAGE = 2
"""The exit code of wrong usage (the contract's); 1 is "failed or invalid"."""


class Output(StrEnum):
    """What a command prints: text for people, JSON for programs."""

    TEXT = "text"
    JSON = "json"


OutputOption = Annotated[Output, typer.Option("--output", "-o", help="text or json.")]


def stderr() -> Console:
    """The console for problems and progress: colour on a terminal, plain when piped."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned exit to leave with ``code``."""
    stderr().print(Text.assemble(("error: ", "bold red"), message))
    return typer.Exit(code)


def warn(message: str) -> None:
    """Print ``warning: message`` on stderr and carry on."""
    stderr().print(Text.assemble(("warning: ", "bold yellow"), message))


def settings_or_fail() -> Settings:
    """The settings, or exit 2 (wrong usage) naming the variable that is wrong."""
    try:
        return get_settings()
    except SettingsError as error:
        raise fail(str(error), code=USAGE) from None


def check_local_files() -> None:
    """Warn (never fail) about a ``.env`` other users can read: it holds secrets."""
    warning = env_file_warning()
    if warning is not None:
        warn(warning)
