"""Durations as people write them in the dependency file and settings: ``30s``, ``5m``, ``2h``."""

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
SYNTAX_HINT = "a duration such as 30s, 5m, 2h or 1h30m"


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``5m``, ``2h``, ``1h30m`` (units ms, s, m, h, d) into a timedelta.

    Raises:
        ValueError: the text is not a duration; the message says what is expected.
    """
    cleaned = text.strip().lower()
    parts = _PART.findall(cleaned)
    if not cleaned or "".join(number + unit for number, unit in parts) != cleaned:
        msg = f"{text!r} is not {SYNTAX_HINT}"
        raise ValueError(msg)
    total = timedelta()
    for number, unit in parts:
        total += timedelta(**{_UNITS[unit]: int(number)})
    return total


def format_duration(value: timedelta) -> str:
    """Write a timedelta back in the same syntax, largest units first (``1h30m``, ``0s``)."""
    milliseconds = round(value.total_seconds() * 1000)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, milliseconds = divmod(milliseconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _coerce(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        msg = f"{value!r} has no unit: write {SYNTAX_HINT}"
        raise ValueError(msg)  # noqa: TRY004 - pydantic turns ValueError into a field error
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A pydantic field type that accepts ``30s``-style text and serialises back to it."""
