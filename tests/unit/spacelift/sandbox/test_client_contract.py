"""The real SpaceliftClient against the sandbox: every operation, as it passes against respx."""

import httpx
import pytest

from spacelift import (
    AuthenticationError,
    ContextNotFoundError,
    GraphQLError,
    RunNotFoundError,
    RunState,
    RunType,
    SpaceliftClient,
    SpaceNotFoundError,
    StackNotFoundError,
)
from spacelift.sandbox import (
    DEFAULT_KEY_ID,
    Sandbox,
    SandboxConfig,
    SandboxStack,
    create_app,
    running_sandbox,
)
from tests.unit.spacelift.sandbox.conftest import connect
from tests.unit.spacelift.sandbox.support import ENDPOINT, world

# --- authentication -----------------------------------------------------------------------------


async def test_login_then_calls_carry_the_issued_token(
    sandbox: Sandbox, client: SpaceliftClient
) -> None:
    """The key is exchanged once for a token, which then serves several calls."""
    await client.get_stack("network")
    await client.list_spaces()
    assert sandbox.tokens.logins == 1
    assert sandbox.requests["ApiKeyUser"] == 1


async def test_short_lived_tokens_are_exchanged_again_before_expiry() -> None:
    """validUntil is honoured: tokens shorter than the client's 30 s margin mean a log-in a call."""
    async with Sandbox(world(token_lifetime=10)) as sandbox, connect(sandbox) as client:
        await client.get_stack("network")
        await client.get_stack("database")
    assert sandbox.tokens.logins == 2


async def test_an_expired_token_gets_401_and_the_client_logs_in_again(
    sandbox: Sandbox, client: SpaceliftClient
) -> None:
    """Once the sandbox's clock passes validUntil the token is refused; one re-login fixes it."""
    await client.get_stack("network")
    sandbox.clock.advance(3601)
    stack = await client.get_stack("network")
    assert stack.id == "network"
    assert sandbox.tokens.logins == 2
    assert sandbox.requests["Stack"] == 3  # the refused call, then the same call again


async def test_a_wrong_secret_is_an_authentication_error(sandbox: Sandbox) -> None:
    """apiKeyUser refuses an unknown secret, and the client reports bad credentials."""
    async with connect(sandbox, api_key_secret="wrong") as client:
        with pytest.raises(AuthenticationError):
            await client.list_spaces()


async def test_requests_without_a_valid_token_get_401(sandbox: Sandbox) -> None:
    """No bearer, or a made-up one, is HTTP 401 before anything runs; apiKeyUser needs none."""
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url=ENDPOINT) as http:
        body = {"query": "query { stacks { id } }"}
        assert (await http.post("/graphql", json=body)).status_code == 401
        bad = {"Authorization": "Bearer nope"}
        assert (await http.post("/graphql", json=body, headers=bad)).status_code == 401
        login = {"query": 'mutation { apiKeyUser(id: "sandbox", secret: "x") { jwt } }'}
        answer = await http.post("/graphql", json=login)
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["message"].startswith("unauthorized")


async def test_a_static_api_token_works_without_login() -> None:
    """A configured api_token (SPACELIFT_API_TOKEN) is accepted as it is, and never expires."""
    async with Sandbox(world(api_tokens=("static-token",))) as sandbox:
        sandbox.clock.advance(10**6)
        async with connect(
            sandbox, api_key_id=None, api_key_secret=None, api_token="static-token"
        ) as c:
            run = await c.trigger_run("network")
    assert run.triggered_by == "api::token"
    assert sandbox.tokens.logins == 0


# --- stacks -------------------------------------------------------------------------------------


async def test_get_stack_reads_every_field(client: SpaceliftClient) -> None:
    """stack(id:) answers every field the client asks for, native dependencies both ways."""
    network = await client.get_stack("network")
    database = await client.get_stack("database")
    assert (network.name, network.description, network.labels) == (
        "Network",
        "VPC and subnets",
        ["layer:base"],
    )
    assert (network.branch, network.state, network.space) == ("main", "NONE", "root")
    assert network.tracked_commit is not None
    assert len(network.tracked_commit) == 40
    assert [(o.id, o.value) for o in network.outputs] == [("VPC_ID", "vpc-1")]
    assert network.depended_on_by == ["database"]
    assert (database.depends_on, database.space) == (["network"], "prod")


async def test_unknown_stack_is_stack_not_found(client: SpaceliftClient) -> None:
    """stack(id:) answers null for an unknown id, as Spacelift does."""
    with pytest.raises(StackNotFoundError):
        await client.get_stack("nope")


async def test_list_stacks_pages_through_search_stacks() -> None:
    """searchStacks pages 50 at a time with cursors; the client collects all 120 stacks."""
    stacks = tuple(SandboxStack(f"stack-{index:03}") for index in range(120))
    async with Sandbox(SandboxConfig(stacks=stacks)) as sandbox, connect(sandbox) as client:
        listed = await client.list_stacks()
    assert [stack.id for stack in listed] == [stack.id for stack in stacks]
    assert sandbox.requests["SearchStacks"] == 3


async def test_set_stack_env_var_stores_a_write_only_value(
    sandbox: Sandbox, client: SpaceliftClient
) -> None:
    """stackConfigAdd sets the variable; a write-only value is never shown back."""
    await client.set_stack_env_var("network", "TF_VAR_x", "s3cret")
    await client.set_stack_env_var("network", "PLAIN", "visible", write_only=False)
    config = sandbox.world.entry("network").config
    assert (config["TF_VAR_x"].value, config["TF_VAR_x"].write_only) == ("s3cret", True)
    assert config["PLAIN"].write_only is False


# --- runs ---------------------------------------------------------------------------------------


async def test_trigger_then_get_and_list_runs(sandbox: Sandbox, client: SpaceliftClient) -> None:
    """runTrigger makes a TRACKED run of the tracked commit; run(id:) and runs() read it back."""
    run = await client.trigger_run("network")
    assert (run.state, run.type, run.triggered_by) == (
        RunState.QUEUED,
        RunType.TRACKED,
        "api::sandbox",
    )
    await sandbox.wait_for_run_state("network", run.id, RunState.FINISHED)
    done = await client.get_run("network", run.id)
    assert (done.state, done.finished, done.state_version) == (RunState.FINISHED, True, 5)
    assert done.delta is not None
    assert done.delta.has_changes
    assert [entry.state for entry in done.history] == [
        RunState.QUEUED,
        RunState.PREPARING,
        RunState.PLANNING,
        RunState.APPLYING,
        RunState.FINISHED,
    ]
    second = await client.trigger_run("network", commit_sha="a" * 40)
    assert [r.id for r in await client.list_runs("network")] == [second.id, run.id]
    assert [r.id for r in await client.list_runs("network", before=second.id)] == [run.id]
    assert (await client.get_stack("network")).state in {"FINISHED", "PREPARING", "PLANNING"}


async def test_unknown_run_and_unknown_stack_of_a_trigger(client: SpaceliftClient) -> None:
    """run(id:) null is RunNotFoundError; a trigger on an unknown stack is a GraphQL error."""
    with pytest.raises(RunNotFoundError):
        await client.get_run("network", "01NOPE")
    with pytest.raises(GraphQLError, match="not found"):
        await client.trigger_run("nope")


async def test_confirm_an_unconfirmed_run(sandbox: Sandbox, client: SpaceliftClient) -> None:
    """runConfirm moves an UNCONFIRMED run on to APPLYING; it then finishes."""
    run = await client.trigger_run("app")
    await sandbox.wait_for_run_state("app", run.id, RunState.UNCONFIRMED)
    confirmed = await client.confirm_run("app", run.id, note="ship it")
    assert confirmed.state is RunState.APPLYING
    await sandbox.wait_for_run_state("app", run.id, RunState.FINISHED)
    assert sandbox.run("app", run.id).history[4].note == "ship it"


async def test_confirm_outside_unconfirmed_is_a_graphql_error(
    sandbox: Sandbox, client: SpaceliftClient
) -> None:
    """Confirming a run that is not UNCONFIRMED answers 200 with an errors array."""
    run = await client.trigger_run("network")
    await sandbox.wait_for_run_state("network", run.id, RunState.FINISHED)
    with pytest.raises(GraphQLError, match="not UNCONFIRMED"):
        await client.confirm_run("network", run.id)


async def test_discard_an_unconfirmed_run(sandbox: Sandbox, client: SpaceliftClient) -> None:
    """runDiscard ends an UNCONFIRMED run DISCARDED."""
    run = await client.trigger_run("app")
    await sandbox.wait_for_run_state("app", run.id, RunState.UNCONFIRMED)
    discarded = await client.discard_run("app", run.id)
    assert (discarded.state, discarded.finished) == (RunState.DISCARDED, True)


async def test_stop_a_running_run_and_cancel_a_queued_one(
    sandbox: Sandbox, client: SpaceliftClient
) -> None:
    """runStop ends a running run STOPPED; runCancel ends the run queued behind it CANCELED."""
    first = await client.trigger_run("slow")
    second = await client.trigger_run("slow")
    await sandbox.wait_for_run_state("slow", first.id, RunState.PREPARING)
    assert (await client.get_run("slow", second.id)).state is RunState.QUEUED
    canceled = await client.cancel_run("slow", second.id)
    stopped = await client.stop_run("slow", first.id)
    assert (stopped.state, canceled.state) == (RunState.STOPPED, RunState.CANCELED)
    with pytest.raises(GraphQLError, match="could not stop"):
        await client.stop_run("slow", first.id)


# --- contexts and spaces ------------------------------------------------------------------------


async def test_contexts_list_get_attach_detach(client: SpaceliftClient) -> None:
    """contexts, context(id:), contextAttach and contextDetach by the attachment's id."""
    assert [c.id for c in await client.list_contexts()] == ["shared", "secrets"]
    shared = await client.get_context("shared")
    assert (shared.name, shared.labels, shared.space) == ("Shared", ["common"], "root")
    attachment = await client.attach_context("shared", "network", priority=3)
    assert (attachment.stack_id, attachment.priority) == ("network", 3)
    with pytest.raises(GraphQLError, match="already attached"):
        await client.attach_context("shared", "network")
    await client.detach_context(attachment.id)
    with pytest.raises(GraphQLError, match="not found"):
        await client.detach_context(attachment.id)
    with pytest.raises(ContextNotFoundError):
        await client.get_context("nope")


async def test_spaces_list_and_get(client: SpaceliftClient) -> None:
    """spaces lists root and its children; space(id:) reads one; unknown is SpaceNotFoundError."""
    spaces = {space.id: space for space in await client.list_spaces()}
    assert spaces["root"].parent_space is None
    assert (spaces["prod"].name, spaces["prod"].parent_space) == ("Production", "root")
    prod = await client.get_space("prod")
    assert (prod.labels, prod.inherit_entities) == (["env:prod"], True)
    with pytest.raises(SpaceNotFoundError):
        await client.get_space("nope")


# --- over a real socket -------------------------------------------------------------------------


async def test_the_client_works_over_loopback_http() -> None:
    """Served by uvicorn on a free loopback port, the sandbox answers the client over TCP."""
    async with running_sandbox(world()) as served:
        async with SpaceliftClient(
            served.url, api_key_id=DEFAULT_KEY_ID, api_key_secret="sandbox-secret"
        ) as client:
            run = await client.trigger_run("network")
            await served.sandbox.wait_for_run_state("network", run.id, RunState.FINISHED)
            assert (await client.get_run("network", run.id)).state is RunState.FINISHED
        async with httpx.AsyncClient() as http:
            health = await http.get(f"{served.url}/healthz")
    assert health.json() == {"status": "ok", "account": "acme"}
