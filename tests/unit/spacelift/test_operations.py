from datetime import UTC, datetime

import httpx
import pytest

from spacelift import (
    ContextNotFoundError,
    RunDelta,
    RunNotFoundError,
    RunState,
    RunType,
    SpaceliftClient,
    SpaceNotFoundError,
    StackNotFoundError,
)
from tests.unit.spacelift.fakes import (
    API_TOKEN,
    ENDPOINT,
    JWT,
    KEY_ID,
    KEY_SECRET,
    FakeApi,
    data,
    login_answer,
    run_payload,
    stack_payload,
)

BEARER = f"Bearer {JWT}"


async def test_login_exchanges_the_key_then_sends_the_jwt(
    api: FakeApi, client: SpaceliftClient
) -> None:
    """The key goes to apiKeyUser without a bearer; the JWT is the bearer of the next call."""
    api.on("Stack", {"stack": stack_payload()})
    await client.get_stack("network")
    login, call = api.calls
    assert login.root_field() == ("apiKeyUser", {"id": "$id", "secret": "$secret"})
    assert login.variables == {"id": KEY_ID, "secret": KEY_SECRET}
    assert login.authorization is None
    assert {"jwt", "validUntil"} <= login.fields()
    assert call.authorization == BEARER


async def test_ready_token_is_the_bearer_without_login(api: FakeApi) -> None:
    """With api_token no exchange happens and the token is sent as it is."""
    api.on("Spaces", {"spaces": []})
    async with SpaceliftClient(ENDPOINT, api_token=API_TOKEN) as client:
        await client.list_spaces()
    assert [call.operation for call in api.calls] == ["Spaces"]
    assert api.calls[0].authorization == f"Bearer {API_TOKEN}"


async def test_get_stack_reads_every_field(api: FakeApi, client: SpaceliftClient) -> None:
    """get_stack asks stack(id:) and flattens commit, outputs and native dependencies both ways."""
    payload = stack_payload(
        "database",
        description="Postgres",
        labels=["depends-on:network", "depends-on: vpc ", "team:data", "depends-on:"],
        lockedBy="bob",
        isDisabled=True,
        outputs=[{"id": "DB_URL", "value": "pg://", "sensitive": False}],
        dependsOn=[{"dependsOnStack": {"id": "network"}}, {"dependsOnStack": {"id": "vpc"}}],
        isDependedOnBy=[{"stack": {"id": "app"}}],
        unknownNewField={"x": 1},
    )
    api.on("Stack", {"stack": payload})
    stack = await client.get_stack("database")
    call = api.of("Stack")[0]
    assert call.root_field() == ("stack", {"id": "$id"})
    assert call.variables == {"id": "database"}
    assert {
        "dependsOn",
        "dependsOnStack",
        "isDependedOnBy",
        "trackedCommit",
        "hash",
    } <= call.fields()
    assert (stack.id, stack.name, stack.description) == ("database", "Database", "Postgres")
    assert (stack.branch, stack.state, stack.space) == ("main", "FINISHED", "root")
    assert (stack.tracked_commit, stack.is_disabled, stack.locked_by) == ("abc123", True, "bob")
    assert [(o.id, o.value, o.sensitive) for o in stack.outputs] == [("DB_URL", "pg://", False)]
    assert stack.depends_on == ["network", "vpc"]
    assert stack.depended_on_by == ["app"]
    assert stack.label_dependencies() == ["network", "vpc"]


async def test_get_stack_null_is_stack_not_found(api: FakeApi, client: SpaceliftClient) -> None:
    """A null stack is StackNotFoundError naming the operation and the stack."""
    api.on("Stack", {"stack": None})
    with pytest.raises(StackNotFoundError, match=r"get_stack \(stack 'ghost'\)"):
        await client.get_stack("ghost")


@pytest.mark.parametrize("commit_sha", [None, "deadbeef"])
async def test_trigger_run_is_tracked(
    api: FakeApi, client: SpaceliftClient, commit_sha: str | None
) -> None:
    """trigger_run calls runTrigger with runType TRACKED and the optional commit."""
    api.on("RunTrigger", {"runTrigger": run_payload("01NEW", "QUEUED", delta=None)})
    run = await client.trigger_run("network", commit_sha=commit_sha)
    call = api.of("RunTrigger")[0]
    args = {"stack": "$stack", "commitSha": "$commitSha", "runType": "$runType"}
    assert call.root_field() == ("runTrigger", args)
    assert call.variables == {"stack": "network", "commitSha": commit_sha, "runType": "TRACKED"}
    assert call.authorization == BEARER
    assert (run.id, run.state, run.type, run.delta) == (
        "01NEW",
        RunState.QUEUED,
        RunType.TRACKED,
        None,
    )


async def test_get_run_reads_state_delta_history(api: FakeApi, client: SpaceliftClient) -> None:
    """get_run reads stack.run with its delta, history and unix-second timestamps."""
    api.on("Run", {"stack": {"id": "network", "run": run_payload("01R", "FAILED")}})
    run = await client.get_run("network", "01R")
    call = api.of("Run")[0]
    assert call.root_field() == ("stack", {"id": "$stack"})
    assert call.variables == {"stack": "network", "run": "01R"}
    assert {"run", "history", "stateVersion", "delta", "addCount", "triggeredBy"} <= call.fields()
    assert run.state is RunState.FAILED
    assert run.state.is_terminal
    assert run.finished
    assert run.created_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert run.triggered_by == "alice@example.com"
    assert run.delta == RunDelta(add_count=1, change_count=0, delete_count=0)
    assert run.delta.has_changes
    assert [h.state for h in run.history] == [RunState.QUEUED, RunState.FAILED]
    assert run.state_version == 2


async def test_get_run_missing_stack_or_run(api: FakeApi, client: SpaceliftClient) -> None:
    """A null stack is StackNotFoundError, a null run RunNotFoundError."""
    api.on("Run", {"stack": None}, {"stack": {"id": "network", "run": None}})
    with pytest.raises(StackNotFoundError):
        await client.get_run("network", "01R")
    with pytest.raises(RunNotFoundError, match=r"get_run \(stack 'network'\): no run '01R'"):
        await client.get_run("network", "01R")


async def test_list_runs_newest_first(api: FakeApi, client: SpaceliftClient) -> None:
    """list_runs passes `before` to stack.runs and returns the runs newest first."""
    runs = [run_payload("old", createdAt=100), run_payload("new", createdAt=300)]
    api.on("Runs", {"stack": {"id": "network", "runs": runs}})
    result = await client.list_runs("network", before="01X")
    call = api.of("Runs")[0]
    assert call.variables == {"stack": "network", "before": "01X"}
    assert "runs" in call.fields()
    assert [run.id for run in result] == ["new", "old"]


@pytest.mark.parametrize(
    ("method", "mutation"),
    [
        ("confirm_run", "runConfirm"),
        ("discard_run", "runDiscard"),
        ("stop_run", "runStop"),
        ("cancel_run", "runCancel"),
    ],
)
async def test_run_actions(
    api: FakeApi, client: SpaceliftClient, method: str, mutation: str
) -> None:
    """Each run action calls its mutation with stack, run and note, and reads the run back."""
    operation = mutation[0].upper() + mutation[1:]
    api.on(operation, {mutation: run_payload("01R", "CONFIRMED")})
    run = await getattr(client, method)("network", "01R", note="by stackchain")
    call = api.of(operation)[0]
    assert call.root_field() == (mutation, {"stack": "$stack", "run": "$run", "note": "$note"})
    assert call.variables == {"stack": "network", "run": "01R", "note": "by stackchain"}
    assert run.state is RunState.CONFIRMED


async def test_contexts(api: FakeApi, client: SpaceliftClient) -> None:
    """list/get/attach/detach contexts send their documents and read their answers."""
    context = {"id": "aws", "name": "AWS", "description": None, "labels": ["x"], "space": "root"}
    api.on("Contexts", {"contexts": [context]})
    api.on("Context", {"context": context}, {"context": None})
    api.on("ContextAttach", {"contextAttach": {"id": "att1", "stackId": "network", "priority": 3}})
    api.on("ContextDetach", {"contextDetach": {"id": "att1"}})
    assert [c.id for c in await client.list_contexts()] == ["aws"]
    assert (await client.get_context("aws")).labels == ["x"]
    with pytest.raises(ContextNotFoundError):
        await client.get_context("nope")
    attachment = await client.attach_context("aws", "network", priority=3)
    assert (attachment.id, attachment.stack_id, attachment.priority) == ("att1", "network", 3)
    await client.detach_context("att1")
    attach = api.of("ContextAttach")[0]
    assert attach.root_field() == (
        "contextAttach",
        {"id": "$id", "stack": "$stack", "priority": "$priority"},
    )
    assert attach.variables == {"id": "aws", "stack": "network", "priority": 3}
    assert api.of("ContextDetach")[0].variables == {"id": "att1"}


async def test_spaces(api: FakeApi, client: SpaceliftClient) -> None:
    """list/get spaces read parentSpace, inheritEntities and labels; null is SpaceNotFoundError."""
    space = {
        "id": "prod",
        "name": "Prod",
        "description": "",
        "parentSpace": "root",
        "inheritEntities": True,
        "labels": [],
    }
    api.on("Spaces", {"spaces": [space]})
    api.on("Space", {"space": space}, {"space": None})
    (listed,) = await client.list_spaces()
    assert (listed.parent_space, listed.inherit_entities) == ("root", True)
    assert (await client.get_space("prod")).name == "Prod"
    assert api.of("Space")[0].variables == {"id": "prod"}
    with pytest.raises(SpaceNotFoundError):
        await client.get_space("nope")


async def test_set_stack_env_var(api: FakeApi, client: SpaceliftClient) -> None:
    """set_stack_env_var sends stackConfigAdd with an ENVIRONMENT_VARIABLE config."""
    api.on("StackConfigAdd", {"stackConfigAdd": {"id": "TF_VAR_x"}})
    await client.set_stack_env_var("network", "TF_VAR_x", "42", write_only=False)
    call = api.of("StackConfigAdd")[0]
    assert call.root_field() == ("stackConfigAdd", {"stack": "$stack", "config": "$config"})
    assert call.variables == {
        "stack": "network",
        "config": {
            "id": "TF_VAR_x",
            "type": "ENVIRONMENT_VARIABLE",
            "value": "42",
            "writeOnly": False,
        },
    }


def test_run_url() -> None:
    """run_url is <endpoint>/stack/<id>/run/<run>, whatever the trailing slash."""
    client = SpaceliftClient(f"{ENDPOINT}/", api_token=API_TOKEN)
    assert client.run_url("network", "01R") == f"{ENDPOINT}/stack/network/run/01R"


async def test_supplied_httpx_transport_is_used() -> None:
    """A transport= argument carries the requests (as the sandbox and tests need)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if b"ApiKeyUser" in request.content:
            return login_answer()
        return data({"spaces": []})

    async with SpaceliftClient(
        ENDPOINT,
        api_key_id=KEY_ID,
        api_key_secret=KEY_SECRET,
        transport=httpx.MockTransport(handler),
    ) as client:
        assert await client.list_spaces() == []
    assert [str(r.url) for r in seen] == [f"{ENDPOINT}/graphql"] * 2


async def test_client_connects_lazily_and_closes(api: FakeApi) -> None:
    """Without `async with`, the first call connects and aclose() closes."""
    api.on("Spaces", {"spaces": []})
    client = SpaceliftClient(ENDPOINT, api_token=API_TOKEN)
    assert await client.list_spaces() == []
    await client.aclose()
    await client.aclose()
