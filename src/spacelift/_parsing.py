"""Reading GraphQL answers into models, with errors that name the operation and the field."""

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from spacelift.errors import UnexpectedResponseError
from spacelift.models import Stack, _Model

M = TypeVar("M", bound=BaseModel)


def _describe(exc: ValidationError, path: str) -> str:
    # Inputs are left out on purpose: an answer may hold a JWT or a sensitive output.
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join([path, *(str(part) for part in error["loc"])])
        problems.append(f"field {where!r}: {error['msg']}")
    return "unexpected answer: " + "; ".join(problems)


def parse(
    model: type[M], data: object, *, path: str, operation: str, stack_id: str | None = None
) -> M:
    """``data`` (found at ``path`` in the answer) as a ``model``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        message = _describe(exc, path)
    raise UnexpectedResponseError(message, operation=operation, stack_id=stack_id)


def parse_list(
    model: type[M], data: object, *, path: str, operation: str, stack_id: str | None = None
) -> list[M]:
    """``data`` (found at ``path`` in the answer) as a list of ``model``."""
    if not isinstance(data, list):
        message = f"unexpected answer: field {path!r}: expected a list"
        raise UnexpectedResponseError(message, operation=operation, stack_id=stack_id)
    return [
        parse(model, item, path=f"{path}.{index}", operation=operation, stack_id=stack_id)
        for index, item in enumerate(data)
    ]


def field(data: object, key: str, *, operation: str, stack_id: str | None = None) -> object:
    """``data[key]`` where ``data`` must be an object holding ``key`` (its value may be null)."""
    if not isinstance(data, dict) or key not in data:
        message = f"unexpected answer: field {key!r} is missing"
        raise UnexpectedResponseError(message, operation=operation, stack_id=stack_id)
    return data[key]


class ApiKeyUser(_Model):
    """The answer of ``apiKeyUser``: a JWT and when it stops being valid (unix seconds)."""

    jwt: str
    valid_until: float


class PageInfo(_Model):
    """Relay-style page info of a search."""

    end_cursor: str | None = None
    has_next_page: bool


class StackEdge(_Model):
    """One result of ``searchStacks``."""

    node: Stack


class StackPage(_Model):
    """One page of ``searchStacks``."""

    edges: list[StackEdge]
    page_info: PageInfo
