"""Which state each run action needs, as Spacelift has it, and the GraphQL error otherwise.

runCancel: a run not started (QUEUED, READY). runStop: a started run that has not ended, except
UNCONFIRMED. runDiscard: UNCONFIRMED only. Each state is set on a run that waits in the queue of
the ``slow`` stack, so nothing else moves it while the test acts.
"""

from collections.abc import Awaitable, Callable

import pytest

from spacelift import GraphQLError, Run, RunState, SpaceliftClient
from spacelift.sandbox import Sandbox, SimRun

NOT_STARTED: list[RunState] = [RunState.QUEUED, RunState.READY]
TERMINAL: list[RunState] = [state for state in RunState if state.is_terminal]
STARTED: list[RunState] = [
    state
    for state in RunState
    if state not in NOT_STARTED and not state.is_terminal and state is not RunState.UNCONFIRMED
]
Act = Callable[[SpaceliftClient, str, str], Awaitable[Run]]
ACTIONS: dict[str, Act] = {
    "cancel": lambda client, stack, run: client.cancel_run(stack, run),
    "stop": lambda client, stack, run: client.stop_run(stack, run),
    "discard": lambda client, stack, run: client.discard_run(stack, run),
}
ENDS_IN = {"cancel": RunState.CANCELED, "stop": RunState.STOPPED, "discard": RunState.DISCARDED}
ALLOWED: dict[str, list[RunState]] = {
    "cancel": NOT_STARTED,
    "stop": STARTED,
    "discard": [RunState.UNCONFIRMED],
}


async def run_in(sandbox: Sandbox, state: RunState) -> SimRun:
    """A run of ``slow`` in ``state``: the one queued behind a run that lasts the test."""
    first, waiting = sandbox.push("slow"), sandbox.push("slow")
    await sandbox.wait_for_run_state("slow", first.id, RunState.PREPARING)
    if state is not RunState.QUEUED:
        waiting.record(state, sandbox.clock.now())
    return waiting


def test_the_started_states_are_every_other_one() -> None:
    """The rule covers every state: not started, started (stoppable), UNCONFIRMED or ended."""
    assert RunState.PREPARING in STARTED
    assert RunState.APPLYING in STARTED
    assert RunState.PERFORMING in STARTED
    every = {*NOT_STARTED, *STARTED, RunState.UNCONFIRMED, *TERMINAL}
    assert every == set(RunState)


@pytest.mark.parametrize(
    ("action", "state"),
    [(action, state) for action, states in ALLOWED.items() for state in states],
)
async def test_an_action_in_a_state_it_allows_ends_the_run(
    sandbox: Sandbox, client: SpaceliftClient, action: str, state: RunState
) -> None:
    """cancel ends a run not started, stop a started one, discard an UNCONFIRMED one."""
    run = await run_in(sandbox, state)
    answered = await ACTIONS[action](client, "slow", run.id)
    assert answered.state is ENDS_IN[action]
    assert run.state is ENDS_IN[action]


@pytest.mark.parametrize(
    ("action", "state"),
    [
        (action, state)
        for action, states in ALLOWED.items()
        for state in RunState
        if state not in states
    ],
)
async def test_an_action_in_any_other_state_is_a_graphql_error(
    sandbox: Sandbox, client: SpaceliftClient, action: str, state: RunState
) -> None:
    """Refused: the answer carries a GraphQL error naming the action, and the run stays put."""
    run = await run_in(sandbox, state)
    before = len(run.history)
    with pytest.raises(GraphQLError, match=f"could not {action} run {run.id}: it is {state}"):
        await ACTIONS[action](client, "slow", run.id)
    assert (run.state, len(run.history)) == (state, before)


async def test_a_canceled_ready_run_never_starts(sandbox: Sandbox, client: SpaceliftClient) -> None:
    """A READY run that is canceled is skipped by its stack's queue once the run ahead ends."""
    ready = await run_in(sandbox, RunState.READY)
    await client.cancel_run("slow", ready.id)
    await client.stop_run("slow", sandbox.runs("slow")[0].id)
    later = sandbox.push("slow")
    await sandbox.wait_for_run_state("slow", later.id, RunState.PREPARING)
    states = [entry.state for entry in ready.history]
    assert states == [RunState.QUEUED, RunState.READY, RunState.CANCELED]
