"""The simulation's seven invariant checks, fed hand-made evidence: no Temporal server, no seed.

The fault simulation only proves something if its checks catch what they look for. Each
invariant here passes the clean evidence of one well-behaved chain, and flags a representative
violation (the clean evidence with one thing broken) as exactly that invariant's violation.

The clean world: a person's run R1 of ``a`` FINISHED; its chain ``chain-a-R1`` ran ``b``
(engine run E1) and then ``c`` (engine run E2, ``trigger: on_change``). Every run changed
resources and FINISHED; the chain took 10 seconds. Times are seconds after T0, when the chain
started (runs are stamped in unix seconds, chain documents in ISO 8601, as in a real seed).
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from spacelift.models import RunState, RunType
from spacelift.sandbox.config import Delta, Outcome
from spacelift.sandbox.runs import Commit, SimRun, Transition
from temporal.chainstate import UNCHANGED
from temporal.inputs import Confirm, RunUpdate, StackPolicy, StartChainRequest, Trigger
from tests.simulation.evidence import ChainRecord, Evidence, InjectedFault, Violation
from tests.simulation.invariants import (
    chains_end_within_bound,
    check_all,
    final_states_agree_with_spacelift,
    fresh_roots_get_one_chain,
    histories_replay,
    no_foreign_run_in_a_chain,
    one_run_per_attempt,
)
from tests.simulation.scenario import ENGINE, PERSON, Action, CallOdds, Scenario, WebhookOdds
from tests.simulation.stop_checks import unneeded_runs_end_stopped

Doc = dict[str, Any]
CHAIN = "chain-a-R1"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
ZERO = T0.timestamp()
POLICY = StackPolicy(retries=0, retry_backoff_seconds=0.1, confirm=Confirm.AUTO)
SCENARIO = Scenario(
    seed=0,
    graph={"a": [], "b": ["a"], "c": ["b"]},
    policies={
        "a": POLICY,
        "b": replace(POLICY, retries=1),
        "c": replace(POLICY, trigger=Trigger.ON_CHANGE),
    },
    autodeploy=dict.fromkeys(("a", "b", "c"), True),
    outcomes={"a": [], "b": [], "c": []},
    max_parallel=1,
    run_timeout=3.0,
    continue_as_new_after=None,
    webhooks=WebhookOdds(lost=0.0, duplicated=0.0, delayed=0.0, reordered=0.0),
    calls=CallOdds(transient=0.0, lost_trigger_answer=0.0),
)
"""a -> b -> c; a chain over b and c may take 15 + 2 * 3.5 + 0.1 + 3.5 = 25.6 seconds."""


# --- builders --------------------------------------------------------------------------------
def sim_run(
    run_id: str,
    stack: str,
    *,
    by: str = ENGINE,
    state: RunState = RunState.FINISHED,
    at: float = 0.0,
    ended: float | None = None,
    changes: bool = True,
) -> SimRun:
    """A run created at ``at`` that is now in ``state`` (since ``ended``, or one second on)."""
    at, ended = ZERO + at, None if ended is None else ZERO + ended
    run = SimRun(
        id=run_id,
        stack_id=stack,
        ordinal=1,
        type=RunType.TRACKED,
        commit=Commit("0" * 40),
        branch="main",
        created_at=at,
        triggered_by=by,
        source="person" if by == PERSON else "api",
        outcome=Outcome(),
        delta=Delta(added=int(changes)),
        planned=True,
    )
    run.history.append(Transition(RunState.QUEUED, 1, at))
    if state is not RunState.QUEUED:
        run.history.append(Transition(state, 2, at + 1.0 if ended is None else ended))
    return run


def progress(
    run_id: str | None, state: str = "succeeded", attempts: int = 1, reason: str | None = None
) -> Doc:
    """One stack's entry in a chain document."""
    return {"state": state, "run_id": run_id, "attempts": attempts, "reason": reason}


def update(stack: str, attempt: int, run_id: str, state: str = "FINISHED") -> RunUpdate:
    """A lane's report to ``CHAIN`` of the run serving ``stack``'s attempt."""
    return RunUpdate(f"{CHAIN}/{stack}/{attempt}", stack, run_id, state)


def chain(chain_id: str, stacks: dict[str, Doc], *, root_run: str = "R1") -> ChainRecord:
    """A chain that ended after 10 seconds, with a lane's update for each stack's last attempt."""
    status = "failed" if any(p["state"] == "failed" for p in stacks.values()) else "succeeded"
    document = {
        "chain_id": chain_id,
        "root_stack": "a",
        "root_run_id": root_run,
        "status": status,
        "started_at": T0.isoformat(),
        "finished_at": (T0 + timedelta(seconds=10)).isoformat(),
        "stacks": stacks,
    }
    updates = [
        RunUpdate(f"{chain_id}/{stack}/{p['attempts']}", stack, p["run_id"], "FINISHED")
        for stack, p in stacks.items()
        if p["attempts"] and p["run_id"]
    ]
    return ChainRecord(chain_id, document=document, updates=updates, executions=1)


def clean() -> Evidence:
    """The clean world of the module docstring."""
    runs = [
        sim_run("R1", "a", by=PERSON, at=0.0),
        sim_run("E1", "b", at=2.0),
        sim_run("E2", "c", at=4.0),
    ]
    stacks = {"a": progress("R1", attempts=0), "b": progress("E1"), "c": progress("E2")}
    return Evidence(
        scenario=SCENARIO,
        runs=runs,
        chains={CHAIN: chain(CHAIN, stacks)},
        chain_stacks={CHAIN: ["b", "c"]},
        chain_roots={CHAIN: "a"},
        canceled=set(),
        planned=[StartChainRequest("a", "R1")],
        restart_slack=0.0,
    )


def doc(evidence: Evidence, chain_id: str = CHAIN) -> Doc:
    document = evidence.chains[chain_id].document
    assert document is not None
    return document


def swap_run(evidence: Evidence, run: SimRun) -> None:
    """Replace the run with ``run``'s id by ``run`` (Spacelift's truth about it differs)."""
    evidence.runs = [run if r.id == run.id else r for r in evidence.runs]


def only_violation(evidence: Evidence) -> Violation:
    """The one violation all seven checks together find."""
    found = check_all(evidence)
    assert len(found) == 1, found
    return found[0]


# --- clean evidence --------------------------------------------------------------------------
CHECKS: list[Callable[[Evidence], list[Violation]]] = [
    chains_end_within_bound,
    one_run_per_attempt,
    no_foreign_run_in_a_chain,
    unneeded_runs_end_stopped,
    final_states_agree_with_spacelift,
    fresh_roots_get_one_chain,
    histories_replay,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_clean_evidence_keeps_each_invariant(check: Callable[[Evidence], list[Violation]]) -> None:
    """A well-behaved chain gives no invariant a violation (no false alarm in any check)."""
    assert check(clean()) == []


# --- 1. every chain ends within its bound ----------------------------------------------------
def test_chain_still_running_past_its_bound_is_caught() -> None:
    """A chain whose document still says running is reported stalled, naming the waiting stack."""
    evidence = clean()
    doc(evidence)["status"] = "running"
    doc(evidence)["finished_at"] = None
    doc(evidence)["stacks"]["c"]["state"] = "running"
    swap_run(evidence, sim_run("E2", "c", state=RunState.APPLYING, at=4.0))

    violation = only_violation(evidence)

    assert violation.invariant.startswith("1 ")
    assert violation.evidence == f"{CHAIN} stalled past 26s: {{'c': 'running'}}"


def test_chain_that_ended_after_its_bound_is_caught() -> None:
    """A chain that ended, but later than every attempt's run_timeout allows, is reported."""
    evidence = clean()
    doc(evidence)["finished_at"] = (T0 + timedelta(seconds=60)).isoformat()

    violation = only_violation(evidence)

    assert violation.invariant.startswith("1 ")
    assert violation.evidence == f"{CHAIN} took 60.0s, bound 25.6s"


def test_lane_left_following_an_ended_run_is_caught() -> None:
    """A lane still following a run Spacelift ended strands its stack: reported."""
    evidence = clean()
    evidence.stale_lanes = {"b": "follows E1 as APPLYING, Spacelift: FINISHED"}

    violation = only_violation(evidence)

    assert violation.invariant == "1 chain ends within its bound (no stack stranded)"
    assert violation.evidence.startswith("lane of b follows E1 as APPLYING")


# --- 2. one run per (chain, stack, attempt) ---------------------------------------------------
def _retried_b(first: RunState) -> Evidence:
    """b's first run E1 ends ``first`` at 6s; its second attempt's E3 was created at 4s."""
    evidence = clean()
    swap_run(evidence, sim_run("E1", "b", state=first, at=2.0, ended=6.0))
    evidence.runs.insert(2, sim_run("E3", "b", at=4.0, ended=7.0))
    evidence.runs[-1] = sim_run("E2", "c", at=8.0)
    doc(evidence)["stacks"]["b"] = progress("E3", attempts=2)
    updates = [update("b", 1, "E1", first.value), update("b", 2, "E3"), update("c", 1, "E2")]
    evidence.chains[CHAIN].updates = updates
    return evidence


def test_two_engine_runs_of_a_stack_in_flight_at_once_are_caught() -> None:
    """An engine run created while the stack's earlier engine run still ran is reported."""
    violation = only_violation(_retried_b(RunState.FAILED))

    assert violation.invariant.startswith("2 ")
    assert violation.evidence == "b: E3 created while E1 ran (it ended FAILED)"


def test_an_orphan_the_engine_stopped_may_overlap_the_next_run() -> None:
    """Two engine runs overlapping is allowed when the earlier one ended STOPPED."""
    assert check_all(_retried_b(RunState.STOPPED)) == []


def test_more_engine_runs_than_attempts_are_caught() -> None:
    """An engine run of a stack that no chain attempt asked for is reported."""
    evidence = clean()
    evidence.runs.append(sim_run("E9", "b", at=20.0))

    violation = only_violation(evidence)

    assert violation.invariant.startswith("2 ")
    assert violation.evidence == "b: 2 engine runs ['E1:FINISHED', 'E9:FINISHED'] for 1 attempts"


def test_two_runs_reported_for_one_attempt_are_caught() -> None:
    """Lanes reporting two different runs for one attempt of a stack is reported."""
    evidence = clean()
    evidence.chains[CHAIN].updates.append(update("c", 1, "P2"))
    evidence.runs.append(sim_run("P2", "c", by=PERSON, at=20.0))

    (violation,) = one_run_per_attempt(evidence)

    assert violation.invariant.startswith("2 ")
    assert violation.evidence.startswith(f"{CHAIN} c #1: runs ")
    assert "'E2'" in violation.evidence
    assert "'P2'" in violation.evidence


# --- 3. no one else's run is a chain's run ---------------------------------------------------
def test_persons_run_shown_as_a_chains_run_is_caught() -> None:
    """A chain showing a person's run as the run of a stack it triggered is reported."""
    evidence = clean()
    evidence.runs.append(sim_run("P2", "c", by=PERSON, at=4.5))
    doc(evidence)["stacks"]["c"]["run_id"] = "P2"

    violation = only_violation(evidence)

    assert violation.invariant.startswith("3 ")
    assert violation.evidence == f"{CHAIN} c: run P2 by 'jane'"


def test_lane_reporting_a_persons_run_is_caught() -> None:
    """A lane reporting a person's run as serving a chain's request is reported."""
    evidence = clean()
    evidence.runs.append(sim_run("P2", "c", by=PERSON, at=4.5))
    evidence.chains[CHAIN].updates[-1] = update("c", 1, "P2")

    violation = only_violation(evidence)

    assert violation.invariant.startswith("3 ")
    assert violation.evidence == f"{CHAIN}: lane reported 'jane''s run P2 for {CHAIN}/c/1"


def test_root_shown_with_another_run_than_its_root_run_is_caught() -> None:
    """A chain that does not run its root must show the root with the root run, no other."""
    evidence = clean()
    evidence.runs.insert(0, sim_run("P0", "a", by=PERSON, state=RunState.FAILED, at=-5.0))
    doc(evidence)["stacks"]["a"]["run_id"] = "P0"

    violation = only_violation(evidence)

    assert violation.invariant.startswith("3 ")
    assert violation.evidence.startswith(f"{CHAIN}: root shown as ")


def test_another_stacks_run_shown_as_a_stacks_run_is_caught() -> None:
    """A chain showing (and a lane reporting) b's engine run as c's run is reported, twice."""
    evidence = clean()
    evidence.runs.pop()  # c never ran
    doc(evidence)["stacks"]["c"]["run_id"] = "E1"
    evidence.chains[CHAIN].updates[-1] = update("c", 1, "E1")

    found = check_all(evidence)

    assert [violation.invariant[0] for violation in found] == ["3", "3"]
    assert [violation.evidence for violation in found] == [
        f"{CHAIN} c: b's run E1 shown as c's",
        f"{CHAIN}: lane reported for {CHAIN}/c/1: b's run E1 shown as c's",
    ]


def test_root_run_of_another_stack_is_caught() -> None:
    """A chain from ``a`` whose root run is a person's run of ``b`` is reported."""
    evidence = clean()
    evidence.runs.insert(1, sim_run("P1", "b", by=PERSON, at=0.5))
    doc(evidence)["root_run_id"] = "P1"
    doc(evidence)["stacks"]["a"]["run_id"] = "P1"

    found = {v.evidence for v in no_foreign_run_in_a_chain(evidence)}

    assert found == {
        f"{CHAIN} root: b's run P1 shown as a's",
        f"{CHAIN} a: b's run P1 shown as a's",
    }


def test_run_spacelift_does_not_have_is_caught() -> None:
    """A run id a chain shows that Spacelift has no run for is reported."""
    evidence = clean()
    doc(evidence)["stacks"]["c"]["run_id"] = "E7"

    (violation,) = no_foreign_run_in_a_chain(evidence)

    assert violation.invariant.startswith("3 ")
    assert violation.evidence == f"{CHAIN} c: run E7, which Spacelift does not have"


def test_update_under_another_stacks_key_is_caught() -> None:
    """A lane's update that names one stack under another stack's request key is reported."""
    evidence = clean()
    evidence.chains[CHAIN].updates.append(RunUpdate(f"{CHAIN}/c/1", "b", "E1", "FINISHED"))

    found = {v.evidence for v in no_foreign_run_in_a_chain(evidence)}

    assert found == {
        f"{CHAIN}: lane reported for {CHAIN}/c/1: an update of stack b",
        f"{CHAIN}: lane reported for {CHAIN}/c/1: b's run E1 shown as c's",
    }


# --- 4. runs nobody waits on end stopped -----------------------------------------------------
def _timed_out_on_c() -> Evidence:
    """c's only attempt timed out on E2, which Spacelift still has waiting in UNCONFIRMED."""
    evidence = clean()
    swap_run(evidence, sim_run("E2", "c", state=RunState.UNCONFIRMED, at=4.0))
    doc(evidence)["stacks"]["c"] = progress("E2", "failed", reason="run timed out")
    doc(evidence)["status"] = "failed"
    return evidence


def test_engine_run_left_unconfirmed_after_all_chains_ended_is_caught() -> None:
    """Once every chain ended, an engine run still UNCONFIRMED in Spacelift is reported."""
    violation = only_violation(_timed_out_on_c())

    assert violation.invariant.startswith("4 ")
    assert violation.evidence == "c run E2 left UNCONFIRMED"


def test_unfinished_runs_are_not_judged_while_a_chain_runs() -> None:
    """While some chain still runs it may need its run: invariant 4 waits (1 judges the chain)."""
    evidence = _timed_out_on_c()
    doc(evidence)["status"] = "running"

    assert unneeded_runs_end_stopped(evidence) == []


def test_engine_run_that_applied_after_its_chain_gave_up_is_caught() -> None:
    """A run the chain timed out on, left to go on and FINISH (apply), is reported."""
    evidence = _timed_out_on_c()
    swap_run(evidence, sim_run("E2", "c", at=4.0, ended=60.0))

    violation = only_violation(evidence)

    assert violation.invariant.startswith("4 ")
    assert violation.evidence == (
        "c run E2 ended FINISHED 50.0s after the last chain let it go (grace 15.0s): "
        "it was never stopped"
    )


def _applied(
    evidence: Evidence, run_id: str, stack: str, at: float, applied: float, by: str = PERSON
) -> None:
    """``run_id`` waited in UNCONFIRMED from ``at`` + 1 s; ``by`` confirmed it at ``applied``."""
    run = sim_run(run_id, stack, state=RunState.UNCONFIRMED, at=at)
    run.record(RunState.APPLYING, ZERO + applied, username=by)
    run.record(RunState.FINISHED, ZERO + applied + 0.1)
    swap_run(evidence, run)


def test_run_applying_after_its_release_signal_is_caught() -> None:
    """The chain's own release of the attempt counts, even when the chain ended much later."""
    evidence = _timed_out_on_c()
    doc(evidence)["finished_at"] = (T0 + timedelta(seconds=20)).isoformat()
    evidence.chains[CHAIN].released[f"{CHAIN}/c/1"] = T0 + timedelta(seconds=7)
    _applied(evidence, "E2", "c", at=4.0, applied=25.0)

    violation = only_violation(evidence)

    assert violation.invariant.startswith("4 ")
    assert violation.evidence.startswith("c run E2 entered APPLYING, then ended FINISHED 18.0s")


def test_run_applying_after_its_attempt_timed_out_is_caught() -> None:
    """A chain that never released its attempt still stopped needing the run at its time-out."""
    evidence = _timed_out_on_c()
    doc(evidence)["finished_at"] = (T0 + timedelta(seconds=20)).isoformat()
    evidence.chains[CHAIN].requested[f"{CHAIN}/c/1"] = T0 + timedelta(seconds=4)  # times out at 7
    _applied(evidence, "E2", "c", at=4.0, applied=25.0)

    violation = only_violation(evidence)

    assert violation.invariant.startswith("4 ")
    assert "18.0s after the last chain let it go" in violation.evidence


def test_run_applying_after_the_chain_was_canceled_is_caught() -> None:
    """An operator's cancel lets every run of the chain go at once."""
    evidence = _timed_out_on_c()
    doc(evidence)["finished_at"] = (T0 + timedelta(seconds=20)).isoformat()
    evidence.chains[CHAIN].canceled_at = T0 + timedelta(seconds=6)
    _applied(evidence, "E2", "c", at=4.0, applied=25.0)

    violation = only_violation(evidence)

    assert violation.invariant.startswith("4 ")
    assert "19.0s after the last chain let it go" in violation.evidence


def test_run_that_applied_before_the_stop_could_land_is_clean() -> None:
    """A run confirmed (by a person) within the grace after its chain let it go may finish."""
    evidence = _timed_out_on_c()
    _applied(evidence, "E2", "c", at=4.0, applied=24.0)  # the chain ended at 10

    assert check_all(evidence) == []


def test_run_another_chain_still_followed_is_clean() -> None:
    """A shared run one chain let go, but another followed to its end, was still needed."""
    evidence = _timed_out_on_c()
    _applied(evidence, "E2", "c", at=4.0, applied=30.0)
    other = "chain-a-manual-1"
    evidence.chains[other] = chain(other, {"c": progress("E2")}, root_run="")
    doc(evidence, other)["root_run_id"] = None
    doc(evidence, other)["finished_at"] = (T0 + timedelta(seconds=31)).isoformat()
    evidence.chain_stacks[other] = ["c"]

    assert unneeded_runs_end_stopped(evidence) == []


def test_faults_and_restarts_on_the_way_lengthen_the_grace() -> None:
    """Failed Spacelift calls on the stack (retried after 1, 2, 4 s) and a worker restart
    while the stop was due delay it legitimately; a run applying within that is clean."""
    evidence = _timed_out_on_c()
    _applied(evidence, "E2", "c", at=4.0, applied=35.0)  # 25 s after the chain ended
    late = [violation.evidence for violation in check_all(evidence)]
    evidence.faults = [InjectedFault(ZERO + 10.5 + k, "stop_run", "c", "before") for k in range(3)]
    with_faults = [violation.evidence for violation in check_all(evidence)]
    restart = Action(11.0, "restart", downtime=0.5)
    evidence.scenario = replace(SCENARIO, actions=[restart])
    evidence.started_at = ZERO

    assert late == [
        (
            "c run E2 entered APPLYING, then ended FINISHED 25.0s after the last chain let it go "
            "(grace 15.0s): it was never stopped"
        )
    ]
    assert with_faults == [late[0].replace("grace 15.0s", "grace 22.0s")]
    assert check_all(evidence) == []


def test_engine_confirming_a_run_no_chain_asked_to_confirm_is_caught() -> None:
    """Stackchain confirming a released run (applying it instead of stopping it) is reported,
    however soon after the release: no clock is needed, the chain never asked for it."""
    evidence = _timed_out_on_c()
    evidence.chains[CHAIN].released[f"{CHAIN}/c/1"] = T0 + timedelta(seconds=7)
    _applied(evidence, "E2", "c", at=4.0, applied=7.5, by=ENGINE)

    violation = only_violation(evidence)

    assert violation.invariant.startswith("4 ")
    assert violation.evidence == (
        "c run E2: stackchain confirmed it (it went on to FINISHED), but no chain it served "
        "asked for that"
    )


@pytest.mark.parametrize("asked", [7.0, 7.2], ids=["with the release", "after it"])
def test_engine_confirm_asked_as_the_chain_let_the_run_go_is_caught(asked: float) -> None:
    """A confirmation the chain asked for in the same step as (or after) letting the run go,
    when it timed the attempt out, is no excuse: the chain no longer needed the run."""
    evidence = _timed_out_on_c()
    evidence.chains[CHAIN].released[f"{CHAIN}/c/1"] = T0 + timedelta(seconds=7)
    evidence.chains[CHAIN].confirms["E2"] = T0 + timedelta(seconds=asked)
    _applied(evidence, "E2", "c", at=4.0, applied=7.5, by=ENGINE)

    violation = only_violation(evidence)

    assert violation.evidence == (
        "c run E2: stackchain confirmed it (it went on to FINISHED), but "
        f"{CHAIN} asked for that only as it let the run go ({asked - 7:.3f}s after)"
    )


def test_engine_confirm_asked_before_the_release_may_land_after_it() -> None:
    """A confirmation asked for while the chain needed the run may land after the chain timed
    out on it (the two cross on their way to Spacelift): within the grace, that is clean."""
    evidence = _timed_out_on_c()
    evidence.chains[CHAIN].released[f"{CHAIN}/c/1"] = T0 + timedelta(seconds=7)
    evidence.chains[CHAIN].confirms["E2"] = T0 + timedelta(seconds=6.9)
    _applied(evidence, "E2", "c", at=4.0, applied=8.0, by=ENGINE)

    assert check_all(evidence) == []


def test_run_no_chain_heard_of_is_let_go_at_its_creation() -> None:
    """A lost trigger's run (no chain was told of it) that waited and then applied is reported."""
    evidence = clean()
    evidence.runs.append(sim_run("E9", "c", state=RunState.UNCONFIRMED, at=11.0))
    evidence.runs[-1].record(RunState.APPLYING, ZERO + 30.0)
    evidence.runs[-1].record(RunState.FINISHED, ZERO + 30.1)
    doc(evidence)["stacks"]["c"]["attempts"] = 2  # one run per attempt holds

    (violation,) = unneeded_runs_end_stopped(evidence)

    assert violation.evidence.startswith("c run E9 entered APPLYING, then ended FINISHED 19.0s")


# --- 5. final states agree with Spacelift and the policies -----------------------------------
def test_succeeded_stack_whose_run_failed_is_caught() -> None:
    """A stack the chain calls succeeded while Spacelift says its run FAILED is reported."""
    evidence = clean()
    swap_run(evidence, sim_run("E1", "b", state=RunState.FAILED, at=2.0))

    violation = only_violation(evidence)

    assert violation.invariant.startswith("5 ")
    assert violation.evidence.startswith(f"{CHAIN} b: succeeded, but its run is FAILED")


def test_failed_stack_whose_run_finished_is_caught() -> None:
    """A stack failed with 'run FAILED' while Spacelift says its run FINISHED is reported."""
    evidence = clean()
    doc(evidence)["stacks"]["c"] = progress("E2", "failed", reason="run FAILED")
    doc(evidence)["status"] = "failed"

    violation = only_violation(evidence)

    assert violation.invariant.startswith("5 ")
    assert violation.evidence.startswith(f"{CHAIN} c: failed with 'run FAILED', but run E2 is")


def _c_skipped_as_unchanged(*, first_attempt_changed: bool) -> Evidence:
    """b's first run E1 failed after planning, its retry E3 changed nothing; c was skipped."""
    evidence = clean()
    first = sim_run("E1", "b", state=RunState.FAILED, at=2.0, changes=first_attempt_changed)
    evidence.runs = [*evidence.runs[:1], first, sim_run("E3", "b", at=5.0, changes=False)]
    doc(evidence)["stacks"]["b"] = progress("E3", attempts=2)
    doc(evidence)["stacks"]["c"] = progress(None, "skipped", attempts=0, reason=UNCHANGED)
    evidence.chains[CHAIN].updates = [update("b", 1, "E1", "FAILED"), update("b", 2, "E3")]
    return evidence


def test_on_change_skip_although_an_upstream_attempt_changed_is_caught() -> None:
    """An on_change stack skipped as unchanged, though an earlier upstream attempt changed
    resources, is reported (changes are never forgotten across attempts)."""
    violation = only_violation(_c_skipped_as_unchanged(first_attempt_changed=True))

    assert violation.invariant.startswith("5 ")
    assert violation.evidence.startswith(
        f"{CHAIN} c: skipped as unchanged, but upstream b changed resources (runs ['E1'])"
    )


def test_on_change_skip_when_no_upstream_attempt_changed_is_clean() -> None:
    """An on_change stack skipped when no attempt of its upstream changed anything is fine."""
    assert check_all(_c_skipped_as_unchanged(first_attempt_changed=False)) == []


def test_skip_as_unchanged_of_an_always_stack_is_caught() -> None:
    """Only a ``trigger: on_change`` stack may be skipped as unchanged."""
    evidence = clean()
    evidence.scenario = replace(SCENARIO, policies={**SCENARIO.policies, "c": POLICY})
    evidence.runs.pop()
    doc(evidence)["stacks"]["c"] = progress(None, "skipped", attempts=0, reason=UNCHANGED)
    evidence.chains[CHAIN].updates.pop()
    swap_run(evidence, sim_run("E1", "b", at=2.0, changes=False))

    violation = only_violation(evidence)

    assert violation.invariant.startswith("5 ")
    assert "skipped as unchanged, but its trigger is always" in violation.evidence


# --- 6. every fresh root gets exactly one chain ----------------------------------------------
def test_persons_finished_root_run_without_a_chain_is_caught() -> None:
    """A person's FINISHED run of a stack with dependents and no chain of its own is reported."""
    evidence = clean()
    evidence.runs.append(sim_run("P2", "a", by=PERSON, at=30.0))

    violation = only_violation(evidence)

    assert violation.invariant.startswith("6 ")
    assert violation.evidence == "person's run a/P2: no chain-a-P2"


def test_runs_that_are_no_roots_need_no_chain() -> None:
    """A person's run of a leaf stack, or one that FAILED, starts no chain and needs none."""
    evidence = clean()
    evidence.runs.append(sim_run("P2", "c", by=PERSON, at=30.0))
    evidence.runs.append(sim_run("P3", "a", by=PERSON, state=RunState.FAILED, at=30.0))

    assert check_all(evidence) == []


def test_two_chains_for_one_root_run_are_caught() -> None:
    """A root run with a second chain (under another id) is reported."""
    evidence = clean()
    twin = "chain-a-R1-twin"
    evidence.chains[twin] = chain(twin, doc(evidence)["stacks"])
    evidence.chain_stacks[twin] = ["b", "c"]

    violation = only_violation(evidence)

    assert violation.invariant.startswith("6 ")
    assert violation.evidence == "root run R1 has 2 chains"


def test_engine_run_planned_as_a_root_is_caught() -> None:
    """The engine asking its planner for a chain rooted on its own run is reported."""
    evidence = clean()
    evidence.planned.append(StartChainRequest("b", "E1"))

    violation = only_violation(evidence)

    assert violation.invariant.startswith("6 ")
    assert violation.evidence == "engine run b/E1 taken for a root"


def test_chain_rooted_on_an_engine_run_is_caught() -> None:
    """A chain whose root run the engine made is reported, even if the planner never saw it."""
    evidence = clean()
    rogue = "chain-b-E1"
    stacks = {"b": progress("E1", attempts=0), "c": progress("E2")}
    evidence.chains[rogue] = chain(rogue, stacks, root_run="E1")
    doc(evidence, rogue)["root_stack"] = "b"
    evidence.chain_stacks[rogue] = ["c"]

    violation = only_violation(evidence)

    assert violation.invariant.startswith("6 ")
    assert violation.evidence == f"{rogue} has root run E1 by {ENGINE}"


def test_a_history_that_does_not_replay_is_a_violation() -> None:
    """A workflow run whose history did not replay (or whose task failed live) is reported."""
    evidence = clean()
    evidence.replay_failures = {"chain-a-1 (r1)": "replay: Nondeterminism error"}

    violation = only_violation(evidence)

    assert violation.invariant.startswith("7 ")
    assert violation.evidence == "chain-a-1 (r1): replay: Nondeterminism error"


def test_violations_are_tagged_with_one_of_seven_invariants() -> None:
    """check_all runs all seven checks: one bad case per invariant yields all seven numbers."""
    evidence = _timed_out_on_c()  # 4
    evidence.stale_lanes = {"b": "follows E1 as APPLYING, Spacelift: FINISHED"}  # 1
    evidence.runs.append(sim_run("E9", "b", at=20.0))  # 2
    evidence.chains[CHAIN].updates.append(update("b", 9, "P9"))  # 3
    evidence.runs.append(sim_run("P9", "b", by=PERSON, state=RunState.FAILED, at=21.0))
    swap_run(evidence, sim_run("E1", "b", state=RunState.FAILED, at=2.0))  # 5
    evidence.planned.append(StartChainRequest("b", "E9"))  # 6
    evidence.replay_failures = {"lane (r1)": "live: event 9: NON_DETERMINISTIC_ERROR"}  # 7

    numbers = {violation.invariant[0] for violation in check_all(evidence)}

    assert numbers == set("1234567")
