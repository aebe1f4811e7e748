"""``searchStacks`` and ``searchContexts``: filter, order and page a list the way Spacelift does.

``SearchInput { first, after, fullTextSearch, predicates, orderBy }``: ``fullTextSearch`` matches
ids, names, descriptions and labels (any case); each predicate names a field and a constraint
(``stringMatches`` takes globs, ``enumEquals`` and ``booleanEquals`` exact values), ``exclude``
inverts it; ``orderBy { field, direction }`` sorts (by id when absent); cursors are opaque.
"""

import base64
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from spacelift.sandbox.runs import SandboxError

T = TypeVar("T")
Fields = Callable[[T], Mapping[str, Sequence[str]]]
"""The searchable fields of an item, each as a list of string values."""
MAX_PAGE = 50


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results, with the cursor of each."""

    items: list[tuple[str, T]]
    end_cursor: str | None
    has_next_page: bool
    has_previous_page: bool


def encode_cursor(key: str) -> str:
    """An opaque cursor for the item with sort key ``key``."""
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except ValueError:
        raise SandboxError(f"invalid cursor {cursor!r}") from None


def _matches(values: Sequence[str], constraint: Mapping[str, Any]) -> bool:
    globs = constraint.get("stringMatches") or []
    exact = [
        str(v).lower()
        for key in ("enumEquals", "booleanEquals", "stringEquals")
        for v in constraint.get(key) or []
    ]
    return any(
        any(fnmatch.fnmatchcase(value.lower(), glob.lower()) for glob in globs)
        or value.lower() in exact
        for value in values
    )


def _keep(fields: Mapping[str, Sequence[str]], search: Mapping[str, Any]) -> bool:
    text = (search.get("fullTextSearch") or "").lower()
    if text and not any(text in value.lower() for values in fields.values() for value in values):
        return False
    for predicate in search.get("predicates") or []:
        name = predicate["field"]
        if name not in fields:
            raise SandboxError(f"unknown search field {name!r}: one of {', '.join(fields)}")
        if _matches(fields[name], predicate["constraint"]) == bool(predicate.get("exclude")):
            return False
    return True


def search(items: Sequence[T], search: Mapping[str, Any], fields: Fields[T]) -> Page[T]:
    """The page of ``items`` that ``search`` (a ``SearchInput``) asks for."""
    order = search.get("orderBy") or {"field": "id", "direction": "ASC"}

    def key(item: T) -> str:
        values = fields(item).get(order["field"])
        if values is None:
            raise SandboxError(f"cannot order by {order['field']!r}")
        return f"{','.join(values)}\x00{fields(item)['id'][0]}"

    kept = sorted(
        (item for item in items if _keep(fields(item), search)),
        key=key,
        reverse=order.get("direction") == "DESC",
    )
    keyed = [(key(item), item) for item in kept]
    start = 0
    if after := search.get("after"):
        after_key = _decode_cursor(after)
        start = next((i + 1 for i, (k, _) in enumerate(keyed) if k == after_key), len(keyed))
    size = max(1, min(search.get("first") or MAX_PAGE, MAX_PAGE))
    window = keyed[start : start + size]
    return Page(
        items=[(encode_cursor(k), item) for k, item in window],
        end_cursor=encode_cursor(window[-1][0]) if window else None,
        has_next_page=start + size < len(keyed),
        has_previous_page=start > 0,
    )
