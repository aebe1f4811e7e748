"""GraphQL the client does not send but Spacelift users do: search filters, runRetry, errors."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from spacelift import RunState
from spacelift.sandbox import Sandbox, create_app
from tests.unit.spacelift.sandbox.support import ENDPOINT, world

TOKEN = "static-token"


@pytest.fixture
async def served() -> AsyncIterator[tuple[Sandbox, httpx.AsyncClient]]:
    """The standard world with a static token, and an HTTP client that sends it."""
    async with Sandbox(world(api_tokens=(TOKEN,))) as sandbox:
        transport = httpx.ASGITransport(app=create_app(sandbox))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(
            transport=transport, base_url=ENDPOINT, headers=headers
        ) as http:
            yield sandbox, http


async def ask(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    answer = await http.post("/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


SEARCH = """
query($input: SearchInput!) {
  searchStacks(input: $input) {
    edges { cursor node { id } }
    pageInfo { endCursor hasNextPage hasPreviousPage }
  }
}
"""


async def search_ids(http: httpx.AsyncClient, **search: Any) -> list[str]:
    data = (await ask(http, SEARCH, input=search))["data"]["searchStacks"]
    return [edge["node"]["id"] for edge in data["edges"]]


async def test_search_stacks_filters_orders_and_pages(
    served: tuple[Sandbox, httpx.AsyncClient],
) -> None:
    """fullTextSearch, label and space predicates (exclude too), orderBy DESC, first and after."""
    _, http = served
    assert await search_ids(http, fullTextSearch="vpc") == ["network"]
    label = {"field": "label", "constraint": {"stringMatches": ["team:*"]}}
    assert await search_ids(http, predicates=[label]) == ["database"]
    assert await search_ids(http, predicates=[{**label, "exclude": True}]) == [
        "app",
        "network",
        "slow",
    ]
    by_name = {"field": "name", "direction": "DESC"}
    assert await search_ids(http, orderBy=by_name) == ["slow", "database", "app", "network"]
    page = (await ask(http, SEARCH, input={"first": 2}))["data"]["searchStacks"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await search_ids(http, first=2, after=page["pageInfo"]["endCursor"])
    assert rest == ["network", "slow"]


async def test_an_unknown_search_field_is_a_graphql_error(
    served: tuple[Sandbox, httpx.AsyncClient],
) -> None:
    """A predicate on a field the sandbox does not know answers an errors array."""
    _, http = served
    bad = {"field": "colour", "constraint": {"stringMatches": ["red"]}}
    answer = await ask(http, SEARCH, input={"predicates": [bad]})
    assert "unknown search field 'colour'" in answer["errors"][0]["message"]


async def test_run_retry_and_stack_runs_through_graphql(
    served: tuple[Sandbox, httpx.AsyncClient],
) -> None:
    """runRetry makes a new run of a failed one; stack.runs lists newest first."""
    sandbox, http = served
    sandbox.set_outcomes("network", ["FAILED"])
    failed = sandbox.push("network")
    await sandbox.wait_for_run_state("network", failed.id, RunState.FAILED)
    retry = await ask(
        http,
        'mutation($run: ID!) { runRetry(stack: "network", run: $run) { id state triggeredBy } }',
        run=failed.id,
    )
    new = retry["data"]["runRetry"]
    assert (new["state"], new["triggeredBy"]) == ("QUEUED", "api::token")
    runs = await ask(http, 'query { stack(id: "network") { runs { id } } }')
    assert [run["id"] for run in runs["data"]["stack"]["runs"]] == [new["id"], failed.id]


async def test_search_contexts_and_a_schema_error(
    served: tuple[Sandbox, httpx.AsyncClient],
) -> None:
    """searchContexts filters by space; asking for a field Spacelift lacks is a validation error."""
    _, http = served
    query = """query($input: SearchInput!) { searchContexts(input: $input) {
      edges { node { id attachedStacks { id } } } } }"""
    space = {"field": "space", "constraint": {"stringMatches": ["prod"]}}
    found = await ask(http, query, input={"predicates": [space]})
    assert found["data"]["searchContexts"]["edges"] == [
        {"node": {"id": "secrets", "attachedStacks": []}}
    ]
    wrong = await ask(http, "query { stacks { id colour } }")
    assert "Cannot query field 'colour'" in wrong["errors"][0]["message"]
