"""The run state machine: paths through the states, outcomes, one run at a time per stack."""

import pytest

from spacelift import RunState, RunType
from spacelift.sandbox import (
    ConflictError,
    Durations,
    Outcome,
    Sandbox,
    SandboxConfig,
    SandboxStack,
    SimRun,
)
from spacelift.sandbox.runs import Commit
from tests.unit.spacelift.sandbox.support import world

Q, PREP, PLAN = RunState.QUEUED, RunState.PREPARING, RunState.PLANNING
UNC, APPLY, FIN, FAIL = RunState.UNCONFIRMED, RunState.APPLYING, RunState.FINISHED, RunState.FAILED


def states(run: SimRun) -> list[RunState]:
    return [entry.state for entry in run.history]


async def finish(sandbox: Sandbox, run: SimRun) -> SimRun:
    await sandbox.wait_until(lambda: run.is_terminal, what=f"run {run.id} ending")
    return run


async def test_autodeploy_run_goes_straight_through(sandbox: Sandbox) -> None:
    """An auto-deploying stack's run goes QUEUED to FINISHED without waiting, versions 1 to 5."""
    run = await finish(sandbox, sandbox.push("network"))
    assert states(run) == [Q, PREP, PLAN, APPLY, FIN]
    assert [entry.state_version for entry in run.history] == [1, 2, 3, 4, 5]
    assert [entry.terminal for entry in run.history] == [False] * 4 + [True]
    assert sandbox.world.entry("network").state == "FINISHED"


async def test_run_without_autodeploy_waits_in_unconfirmed(sandbox: Sandbox) -> None:
    """Without autodeploy the run stops at UNCONFIRMED and does not apply on its own."""
    run = sandbox.push("app")
    await sandbox.wait_for_run_state("app", run.id, UNC)
    with pytest.raises(TimeoutError):
        await sandbox.wait_for_run_state("app", run.id, APPLY, timeout=0.2)
    sandbox.world.confirm("app", run.id, None, "someone")
    await finish(sandbox, run)
    assert states(run) == [Q, PREP, PLAN, UNC, APPLY, FIN]
    assert run.state_version == 6  # as in the sample webhooks: UNCONFIRMED is 4, FINISHED 6


async def test_discard_ends_an_unconfirmed_run(sandbox: Sandbox) -> None:
    """runDiscard on UNCONFIRMED ends the run DISCARDED; it never applies."""
    run = sandbox.push("app")
    await sandbox.wait_for_run_state("app", run.id, UNC)
    sandbox.world.discard("app", run.id, "not today", "someone")
    assert states(await finish(sandbox, run))[-2:] == [UNC, RunState.DISCARDED]


@pytest.mark.parametrize("phase", [PREP, PLAN, APPLY])
async def test_failure_at_the_chosen_phase(phase: RunState) -> None:
    """A stack whose outcome is FAILED:<phase> fails right after that phase."""
    stack = SandboxStack("network", outcome=Outcome(phase))
    async with Sandbox(SandboxConfig(stacks=(stack,))) as sandbox:
        run = await finish(sandbox, sandbox.push("network"))
    assert states(run)[-2:] == [phase, FAIL]
    assert run.planned is (phase is APPLY)


async def test_next_outcomes_apply_in_order_then_the_default(sandbox: Sandbox) -> None:
    """set_outcomes decides the next runs in order; afterwards the stack's own outcome is back."""
    sandbox.set_outcomes("network", ["FAILED:APPLYING", "FINISHED", "FAILED"])
    runs = [await finish(sandbox, sandbox.push("network")) for _ in range(4)]
    assert [states(run)[-2:] for run in runs] == [
        [APPLY, FAIL],
        [APPLY, FIN],
        [PLAN, FAIL],
        [APPLY, FIN],
    ]


async def test_failure_rate_is_reproducible_with_a_seed() -> None:
    """A 50% failure rate fails the same runs for the same seed, and some but not all."""

    async def outcomes(seed: int) -> list[RunState]:
        stack = SandboxStack("flaky", failure_rate=0.5, durations=Durations(0, 0, 0, 0))
        async with Sandbox(SandboxConfig(stacks=(stack,), seed=seed)) as sandbox:
            return [(await finish(sandbox, sandbox.push("flaky"))).state for _ in range(12)]

    first = await outcomes(7)
    assert first == await outcomes(7)
    assert set(first) == {FIN, FAIL}


async def test_one_run_at_a_time_the_others_wait_in_order(sandbox: Sandbox) -> None:
    """Three pushes: each run starts only after the previous one ended, in creation order."""
    runs = [sandbox.push("network") for _ in range(3)]
    await finish(sandbox, runs[-1])
    order = [
        (run.id, entry.state) for run, entry in sandbox.transitions if entry.state in {PREP, FIN}
    ]
    assert order == [(run.id, state) for run in runs for state in (PREP, FIN)]


async def test_stop_ends_a_running_run_and_the_queue_moves_on() -> None:
    """runStop ends the running run STOPPED and the next queued run then runs to its end."""
    config = world(stacks=(SandboxStack("s", durations=Durations(0, 0, 30.0, 0)),))
    async with Sandbox(config) as sandbox:
        first, second = sandbox.push("s"), sandbox.push("s")
        await sandbox.wait_for_run_state("s", first.id, PLAN)
        sandbox.world.stop("s", first.id, None, "someone")
        await sandbox.wait_for_run_state("s", second.id, PLAN)
    assert states(first) == [Q, PREP, PLAN, RunState.STOPPED]


async def test_cancel_ends_a_queued_run_that_never_starts(sandbox: Sandbox) -> None:
    """runCancel ends a QUEUED run CANCELED: it never starts, and the stack state ignores it."""
    first, second = sandbox.push("slow"), sandbox.push("slow")
    await sandbox.wait_for_run_state("slow", first.id, PREP)
    sandbox.world.cancel("slow", second.id, None, "someone")
    sandbox.world.stop("slow", first.id, None, "someone")
    assert states(second) == [Q, RunState.CANCELED]
    assert sandbox.world.entry("slow").state == "STOPPED"


async def test_actions_refused_in_the_wrong_state(sandbox: Sandbox) -> None:
    """confirm needs UNCONFIRMED, stop a running run, cancel a queued one; ended runs stay."""
    running, queued = sandbox.push("slow"), sandbox.push("slow")
    await sandbox.wait_for_run_state("slow", running.id, PREP)
    with pytest.raises(ConflictError, match="not UNCONFIRMED"):
        sandbox.world.confirm("slow", running.id, None, "x")
    with pytest.raises(ConflictError, match="could not cancel"):
        sandbox.world.cancel("slow", running.id, None, "x")
    with pytest.raises(ConflictError, match="could not stop"):
        sandbox.world.stop("slow", queued.id, None, "x")
    sandbox.world.stop("slow", running.id, None, "x")
    with pytest.raises(ConflictError, match="has ended"):
        running.record(FIN, 0.0)


async def test_proposed_runs_plan_only_and_skip_the_queue(sandbox: Sandbox) -> None:
    """A PROPOSED run ends FINISHED after PLANNING, even while a tracked run holds the stack."""
    tracked = sandbox.push("slow")
    proposed = sandbox.world.trigger("slow", triggered_by="x", run_type=RunType.PROPOSED)
    await sandbox.wait_for_run_state("slow", tracked.id, PREP)
    # The slow stack's PLANNING lasts 30 s: the proposed run is just started, not queued.
    await sandbox.wait_for_run_state("slow", proposed.id, PREP)
    assert tracked.state is PREP


async def test_retry_makes_a_new_run_of_the_same_commit(sandbox: Sandbox) -> None:
    """runRetry on a FAILED run makes a new TRACKED run of its commit; a FINISHED one refuses."""
    sandbox.set_outcomes("network", ["FAILED"])
    failed = await finish(sandbox, sandbox.push("network"))
    retry = await finish(sandbox, sandbox.world.retry("network", failed.id, triggered_by="x"))
    assert (retry.commit, retry.source, retry.state) == (failed.commit, "retry", FIN)
    with pytest.raises(ConflictError, match="can be retried"):
        sandbox.world.retry("network", retry.id, triggered_by="x")


async def test_push_lands_a_commit_and_tracks_it(sandbox: Sandbox) -> None:
    """A push with a commit makes it the tracked commit; the run says it came from a push."""
    run = sandbox.push("network", commit=Commit("c" * 40, message="Widen the VPC"))
    entry = sandbox.world.entry("network")
    assert entry.tracked_commit.hash == "c" * 40
    assert (run.source, run.triggered_by, run.commit.message) == (
        "push",
        "sandbox-user",
        "Widen the VPC",
    )
    assert run.commit.url.endswith("/acme/infra/commit/" + "c" * 40)


async def test_disabled_stacks_and_unsupported_run_types_are_refused() -> None:
    """runTrigger on a disabled stack, or of a TASK run, is refused."""
    config = SandboxConfig(stacks=(SandboxStack("off", is_disabled=True), SandboxStack("on")))
    async with Sandbox(config) as sandbox:
        with pytest.raises(ConflictError, match="disabled"):
            sandbox.world.trigger("off", triggered_by="x")
        with pytest.raises(ConflictError, match="does not run TASK"):
            sandbox.world.trigger("on", triggered_by="x", run_type=RunType.TASK)
