"""What a check found wrong with a dependency file, and the error that carries all of it."""

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    """The check that found a problem, in the order the checks run."""

    SYNTAX = "syntax"
    SCHEMA = "schema"
    REFERENCE = "reference"
    CYCLE = "cycle"
    REMOTE = "remote"


class Severity(StrEnum):
    """Errors make the file invalid; warnings are worth reading but change nothing."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the file, where it is, and which stack it concerns."""

    file: str
    line: int | None
    stack: str | None
    message: str
    level: Level
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        kind = "warning: " if self.severity is Severity.WARNING else ""
        about = f"stack '{self.stack}': " if self.stack is not None else ""
        return f"{where}: {kind}{about}{self.message}"

    def to_dict(self) -> dict[str, object]:
        """The problem as JSON-ready data (the shape of ``stackchain validate --output json``)."""
        return {
            "file": self.file,
            "line": self.line,
            "stack": self.stack,
            "message": self.message,
            "level": str(self.level),
            "severity": str(self.severity),
        }


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Order problems as a reader goes through the file: by line, then by check level.

    Problems about the whole file (no line) come last.
    """
    levels = list(Level)
    return sorted(
        problems,
        key=lambda p: (p.line is None, p.line or 0, levels.index(p.level)),
    )


class StackFileError(Exception):
    """The dependency file is invalid; :attr:`problems` lists every error found, not the first.

    ``str(error)`` is one problem a line, ready to print.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class UnknownStackError(LookupError):
    """A stack id that the dependency file does not declare."""

    def __init__(self, stack: str, known: Iterable[str], file: str) -> None:
        self.stack = stack
        super().__init__(f"stack '{stack}' is not in {file}{did_you_mean(stack, known)}")

    def __str__(self) -> str:
        # LookupError would quote the message like a dict key
        return str(self.args[0])


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""
