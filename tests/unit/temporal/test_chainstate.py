"""The chain's state machine, driven directly: the rules hold for any graph and any outcomes."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from temporal.chainstate import IN_FLIGHT, ChainState, RunUrl
from temporal.inputs import (
    ChainInput,
    ChainStack,
    ChainStatus,
    Confirm,
    OnFailure,
    RunUpdate,
    StackPolicy,
    StackState,
    Trigger,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def chains(draw: st.DrawFn) -> tuple[ChainInput, dict[str, list[bool]]]:
    """A random DAG under a root, random policies, and whether each attempt of a stack fails."""
    count = draw(st.integers(1, 9))
    stacks, fails = [], {}
    for index in range(count):
        earlier = [f"s{i}" for i in range(index)]
        upstreams = draw(st.lists(st.sampled_from(earlier), unique=True)) if earlier else []
        policy = StackPolicy(
            retries=draw(st.integers(0, 2)),
            retry_backoff_seconds=1,
            on_failure=draw(st.sampled_from(OnFailure)),
        )
        stacks.append(ChainStack(f"s{index}", upstreams or ["root"], policy))
        fails[f"s{index}"] = draw(st.lists(st.booleans(), min_size=3, max_size=3))
    max_parallel = draw(st.integers(1, 4))
    return ChainInput("root", stacks, max_parallel=max_parallel), fails


def _lets_dependents_go(state: ChainState, stack_id: str) -> bool:
    progress = state.progress[stack_id]
    if progress.state == StackState.SUCCEEDED:
        return True
    stack = state.stacks.get(stack_id)
    return (
        progress.state == StackState.FAILED
        and stack is not None
        and stack.policy.on_failure == OnFailure.CONTINUE
    )


@settings(max_examples=300, deadline=None)
@given(chains())
def test_any_chain_runs_in_order_within_limits_and_ends(
    case: tuple[ChainInput, dict[str, list[bool]]],
) -> None:
    """No stack starts before its upstreams let it, max_parallel holds, every stack ends."""
    req, fails = case
    state = ChainState("chain-x", req, T0)
    now, attempts = T0, {stack.id: 0 for stack in req.stacks}
    for _ in range(200):
        state.tick(now)
        for stack_id, key in state.take_effects().requests:
            upstreams = state.stacks[stack_id].upstreams
            assert all(_lets_dependents_go(state, up) for up in upstreams), stack_id
            assert key == state.key(stack_id)
            attempts[stack_id] += 1
        assert len(state.stacks_in(*IN_FLIGHT)) <= req.max_parallel
        if state.finished:
            break
        running = state.stacks_in(*IN_FLIGHT)
        if running:
            stack_id = running[0]
            failed = fails[stack_id][state.progress[stack_id].attempts - 1]
            update = RunUpdate(
                state.key(stack_id),
                stack_id,
                f"run-{stack_id}",
                "FAILED" if failed else "FINISHED",
                5,
            )
            state.apply_update(update, now)
        else:
            deadline = state.next_deadline(now)
            assert deadline is not None, "nothing in flight, nothing due, yet not finished"
            now = deadline
    assert state.finished
    for stack in req.stacks:
        progress = state.progress[stack.id]
        assert progress.attempts == attempts[stack.id]
        assert progress.attempts <= stack.policy.retries + 1
        if progress.state == StackState.SKIPPED:
            assert not all(_lets_dependents_go(state, up) for up in stack.upstreams)
    failed = any(state.progress[s.id].state == StackState.FAILED for s in req.stacks)
    assert state.status == (ChainStatus.FAILED if failed else ChainStatus.SUCCEEDED)


def test_a_run_past_its_timeout_is_released_and_fails() -> None:
    """run_timeout: the chain releases the run and fails the stack without a retry."""
    req = ChainInput(
        "root",
        [ChainStack("a", ["root"], StackPolicy(retries=3))],
        run_timeout_seconds=60,
    )
    state = ChainState("chain-x", req, T0)
    state.tick(T0)
    ((stack_id, key),) = state.take_effects().requests
    assert state.next_deadline(T0) == T0 + timedelta(seconds=60)

    state.tick(T0 + timedelta(seconds=61))
    assert state.take_effects().releases == [(stack_id, key)]
    assert state.progress["a"].state == StackState.FAILED
    assert state.progress["a"].reason == "run timed out"


def test_updates_for_an_earlier_attempt_are_ignored() -> None:
    """A late update about attempt 1 cannot change attempt 2."""
    policy = StackPolicy(retries=1, retry_backoff_seconds=1)
    state = ChainState("chain-x", ChainInput("root", [ChainStack("a", ["root"], policy)]), T0)
    state.tick(T0)
    ((_, first_key),) = state.take_effects().requests
    state.apply_update(RunUpdate(first_key, "a", "r1", "FAILED", 5), T0)
    state.tick(T0 + timedelta(seconds=2))
    ((_, second_key),) = state.take_effects().requests
    assert second_key != first_key

    state.apply_update(RunUpdate(first_key, "a", "r1", "FINISHED", 6), T0)
    assert state.progress["a"].state == StackState.TRIGGERED


def test_the_document_lists_the_root_and_run_urls() -> None:
    """The status document has the root as succeeded with its run, and run URLs per stack."""
    req = ChainInput("root", [ChainStack("a", ["root"])], root_run_id="R0")
    state = ChainState("chain-x", req, T0)
    doc = state.document(RunUrl("https://acme.app.spacelift.io/"), None)
    assert doc["stacks"]["root"]["state"] == "succeeded"
    assert doc["stacks"]["root"]["run_url"] == "https://acme.app.spacelift.io/stack/root/run/R0"
    assert doc["stacks"]["a"]["run_url"] is None
    assert doc["status"] == "running"


def test_a_snapshot_carries_progress_into_the_next_run() -> None:
    """Continue-as-new: the restored state equals the old one; untouched stacks are left out."""
    stacks = [ChainStack("a", ["root"]), ChainStack("b", ["a"]), ChainStack("c", ["b"])]
    req = ChainInput("root", stacks, root_run_id="R0")
    state = ChainState("chain-x", req, T0)
    state.tick(T0)
    ((_, key),) = state.take_effects().requests
    state.apply_update(RunUpdate(key, "a", "r1", "FINISHED", 5, has_changes=True), T0)

    snapshot = state.snapshot()
    assert set(snapshot.progress) == {"a", "root"}
    restored = ChainState("chain-x", replace(req, resume=snapshot), T0 + timedelta(hours=1))
    assert restored.progress == state.progress
    assert restored.started_at == T0


def test_a_due_retry_waiting_for_a_slot_sets_no_timer() -> None:
    """A retry that is due while every max_parallel slot is taken waits for a run update, not
    for a timer in the past (which would ring at once, for ever)."""
    policy = StackPolicy(retries=1, retry_backoff_seconds=1)
    req = ChainInput(
        "root",
        [ChainStack("a", ["root"], policy), ChainStack("b", ["root"], policy)],
        max_parallel=1,
        run_timeout_seconds=600,
    )
    state = ChainState("chain-x", req, T0)
    state.tick(T0)
    state.apply_update(RunUpdate(state.key("a"), "a", "run-a", "FAILED", 5), T0)
    state.tick(T0)  # a waits 1 s for its retry; b takes the one slot
    assert state.stacks_in(*IN_FLIGHT) == ["b"]

    later = T0 + timedelta(seconds=5)
    state.tick(later)
    assert state.progress["a"].state == StackState.PENDING  # due, but no slot
    assert state.next_deadline(later) == T0 + timedelta(seconds=600)  # b's time-out only


def test_a_retried_upstream_that_changed_resources_once_counts_as_changed() -> None:
    """on_change: the upstream's first attempt changed resources and failed, its retry changed
    nothing; the dependent still runs."""
    req = ChainInput(
        "root",
        [
            ChainStack("a", ["root"], StackPolicy(retries=1, retry_backoff_seconds=1)),
            ChainStack("b", ["a"], StackPolicy(trigger=Trigger.ON_CHANGE)),
        ],
        root_has_changes=False,
    )
    state = ChainState("chain-x", req, T0)
    state.tick(T0)
    state.apply_update(RunUpdate(state.key("a"), "a", "run-a1", "FAILED", 5, has_changes=True), T0)
    later = T0 + timedelta(seconds=2)
    state.tick(later)
    state.apply_update(RunUpdate(state.key("a"), "a", "run-a2", "FINISHED", 5), later)
    state.tick(later)

    assert state.progress["b"].state == StackState.TRIGGERED


def test_a_run_timed_out_in_the_step_that_asked_to_confirm_it_is_not_confirmed() -> None:
    """Found by the simulation: the UNCONFIRMED update and the time-out land in one step
    (confirm: auto). The chain releases the run and does not also ask to confirm it (the two
    signals reach the lane in either order, and a confirm that won would apply it)."""
    req = ChainInput(
        "root",
        [ChainStack("b", ["root"], StackPolicy(retries=0, confirm=Confirm.AUTO))],
        run_timeout_seconds=3,
    )
    state = ChainState("chain-x", req, T0)
    state.tick(T0)
    key = state.key("b")
    state.take_effects()
    late = T0 + timedelta(seconds=3.2)

    state.apply_update(RunUpdate(key, "b", "run-b", "UNCONFIRMED", 4), late)
    state.tick(late)

    effects = state.take_effects()
    assert effects.releases == [("b", key)]
    assert effects.confirms == []
    assert state.progress["b"].reason == "run timed out"
