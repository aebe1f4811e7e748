from typing import Any

import pytest

from spacelift import GraphQLError, SpaceliftClient, UnexpectedResponseError
from tests.unit.spacelift.fakes import FakeApi, errors, stack_payload


def page(ids: list[str], cursor: str | None, *, more: bool) -> dict[str, Any]:
    """One searchStacks answer."""
    return {
        "searchStacks": {
            "edges": [{"node": stack_payload(stack_id), "cursor": stack_id} for stack_id in ids],
            "pageInfo": {"endCursor": cursor, "hasNextPage": more, "hasPreviousPage": False},
        }
    }


async def test_search_stacks_follows_three_pages(api: FakeApi, client: SpaceliftClient) -> None:
    """list_stacks asks 50 at a time, passing each endCursor on, until hasNextPage is false."""
    api.on(
        "SearchStacks",
        page(["a", "b"], "c1", more=True),
        page(["c", "d"], "c2", more=True),
        page(["e"], None, more=False),
    )
    stacks = await client.list_stacks()
    assert [stack.id for stack in stacks] == ["a", "b", "c", "d", "e"]
    calls = api.of("SearchStacks")
    assert [call.variables for call in calls] == [
        {"input": {"first": 50, "after": None}},
        {"input": {"first": 50, "after": "c1"}},
        {"input": {"first": 50, "after": "c2"}},
    ]
    name, arguments = calls[0].root_field()
    assert (name, arguments) == ("searchStacks", {"input": "$input"})
    assert {"edges", "node", "pageInfo", "endCursor", "hasNextPage"} <= calls[0].fields()


@pytest.mark.parametrize(
    "message",
    [
        'Cannot query field "searchStacks" on type "Query".',
        "field searchStacks does not exist",
    ],
)
async def test_falls_back_to_stacks(api: FakeApi, client: SpaceliftClient, message: str) -> None:
    """When the server has no searchStacks field, list_stacks reads the unpaginated `stacks`."""
    api.on("SearchStacks", errors(message))
    api.on("Stacks", {"stacks": [stack_payload("a"), stack_payload("b")]})
    stacks = await client.list_stacks()
    assert [stack.id for stack in stacks] == ["a", "b"]
    assert api.of("Stacks")[0].root_field() == ("stacks", {})


async def test_other_search_errors_do_not_fall_back(api: FakeApi, client: SpaceliftClient) -> None:
    """Any other GraphQL error of searchStacks is raised, not papered over by `stacks`."""
    api.on("SearchStacks", errors("internal error"))
    with pytest.raises(GraphQLError, match="internal error"):
        await client.list_stacks()
    assert api.of("Stacks") == []


async def test_next_page_without_new_cursor_stops(api: FakeApi, client: SpaceliftClient) -> None:
    """hasNextPage with a repeated cursor is an UnexpectedResponseError, not an endless loop."""
    api.on("SearchStacks", page(["a"], "c1", more=True))
    with pytest.raises(UnexpectedResponseError, match="no new cursor"):
        await client.list_stacks()
    assert len(api.of("SearchStacks")) == 2
