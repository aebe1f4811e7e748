"""The schema level: pydantic's validation errors, rewritten as a person would say them."""

from datetime import timedelta

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from app.stackfile.durations import format_duration
from app.stackfile.loader import Document
from app.stackfile.models import STACK_ID_MAX, StackEntry, StackFileModel
from app.stackfile.problems import Level, did_you_mean

_KEYS_OF: dict[str, type[BaseModel]] = {
    "chain": StackFileModel.model_fields["chain"].annotation,  # type: ignore[dict-item]
    "defaults": StackFileModel.model_fields["defaults"].annotation,  # type: ignore[dict-item]
}


def check_schema(doc: Document) -> StackFileModel | None:
    """Validate the parsed data against the models, recording every error in ``doc``."""
    try:
        return StackFileModel.model_validate(doc.data)
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            if detail["type"] == "none_required":
                continue  # the `| None` of an optional key: the other branch says what is wrong
            path = _data_path(detail["loc"])
            stack = str(path[1]) if len(path) > 1 and path[0] == "stacks" else None
            doc.problem(path, describe(detail), Level.SCHEMA, stack)
        return None


def _data_path(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """``loc`` without pydantic's own parts: ``[key]`` and the union branch of optional keys."""
    path = tuple(part for part in loc if part != "[key]")
    if path[:1] == ("stacks",) and len(path) > 3 and isinstance(path[3], str):  # noqa: PLR2004
        return path[:3]
    return path


def _show(value: object) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    return str(value)


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    parent = loc[:-1]
    if not parent:
        return list(StackFileModel.model_fields)
    if len(parent) == 2 and parent[0] == "stacks":  # noqa: PLR2004 - ("stacks", id)
        return list(StackEntry.model_fields)
    model = _KEYS_OF.get(str(parent[0]))
    return list(model.model_fields) if model is not None else []


def _name(loc: tuple[int | str, ...]) -> str:
    if len(loc) > 1 and loc[0] == "stacks":
        loc = loc[2:]  # the stack is named separately
    if loc and isinstance(loc[-1], int):
        return f"{loc[-2]} entries"
    return ".".join(str(part) for part in loc) or "the file"


_WORDING = {
    "literal_error": "must be {expected}",
    "greater_than_equal": "must be {ge} or more",
    "greater_than": "must be more than zero",  # only durations use gt, and only with 0
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be text",
    "list_type": "must be a list of stack ids such as [network]",
    "dict_type": "must be a mapping of keys",
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
}
"""How to say what a value of each pydantic error type must be; ``{...}`` from the context."""


def describe(detail: ErrorDetails) -> str:
    """One readable sentence for one pydantic error."""
    loc, kind, value = _data_path(detail["loc"]), detail["type"], detail["input"]
    ctx = detail.get("ctx", {})
    if "[key]" in detail["loc"]:
        return _bad_stack_id(kind, value)
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind == "missing":
        return "missing `version: 1`" if loc == ("version",) else f"missing key '{loc[-1]}'"
    if kind == "enum":
        expected = _expected(ctx)
        hint = did_you_mean(str(value), expected) if isinstance(value, str) else ""
        return f"{_name(loc)} must be one of {', '.join(expected)}, got {_show(value)}{hint}"
    wording = _WORDING.get(kind)
    if wording is not None:
        words = {name: _plain(bound) for name, bound in ctx.items()}
        return f"{_name(loc)} {wording.format(**words)}, got {_show(value)}"
    return f"{_name(loc)}: {detail['msg'].removeprefix('Value error, ')}"


def _plain(value: object) -> str:
    return format_duration(value) if isinstance(value, timedelta) else str(value)


def _bad_stack_id(kind: str, value: object) -> str:
    if kind == "string_type":
        return f"stack id {_show(value)} must be text: write it in quotes, '{value}'"
    if kind == "string_too_long":
        return f"stack id {_show(value)} is longer than {STACK_ID_MAX} characters"
    return f"stack id {_show(value)} may hold only letters, digits, '-', '_' and '.'"


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    key = str(loc[-1])
    allowed = _allowed_keys(loc)
    hint = did_you_mean(key, allowed) or f" (expected one of: {', '.join(allowed)})"
    return f"unknown key '{key}'{hint}"


def _expected(ctx: dict[str, object]) -> list[str]:
    # pydantic words it "'a', 'b' or 'c'"
    expected = str(ctx.get("expected", "")).replace(" or ", ", ")
    return [part.strip().strip("'") for part in expected.split(",") if part.strip()]
