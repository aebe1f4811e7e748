"""The engine's promises (docs: /work/shared/contract.md, "How a chain behaves") as checks over
one seed's evidence: Spacelift's truth (every run, who made it, how it ended) and Temporal's
(every chain's document and the run updates it received).

Each check returns violations naming the invariant and the evidence; none trusts the engine's
own account where Spacelift's can be read instead.
"""

import itertools
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from spacelift.models import RunState
from temporal.client import root_chain_id
from tests.simulation.evidence import ChainRecord, Evidence, Violation
from tests.simulation.policy_checks import check_chain
from tests.simulation.scenario import ENGINE, PERSON, POLL_SECONDS, Scenario
from tests.simulation.stop_checks import STOPPED_STATES, unneeded_runs_end_stopped

if TYPE_CHECKING:
    from collections.abc import Callable

BASE_SLACK_SECONDS = 15.0
"""Temporal's own latency on a loaded two-core machine, on top of what the policies allow."""
FINAL = {"succeeded", "failed", "skipped", "canceled"}


def chain_bound(scenario: Scenario, stacks: list[str], restart_slack: float) -> float:
    """The longest a chain over ``stacks`` may take: every attempt of every stack one after
    another, each up to run_timeout plus a poll interval, plus backoffs and restarts."""
    total = BASE_SLACK_SECONDS + restart_slack
    for stack in stacks:
        policy = scenario.policies[stack]
        attempts = policy.retries + 1
        total += attempts * (scenario.run_timeout + POLL_SECONDS)
        total += sum(policy.retry_backoff_seconds * 2**k for k in range(policy.retries))
    return total


def check_all(evidence: Evidence) -> list[Violation]:
    """Every invariant, in order."""
    checks: list[Callable[[Evidence], list[Violation]]] = [
        chains_end_within_bound,
        one_run_per_attempt,
        no_foreign_run_in_a_chain,
        unneeded_runs_end_stopped,
        final_states_agree_with_spacelift,
        fresh_roots_get_one_chain,
        histories_replay,
    ]
    found = [violation for check in checks for violation in check(evidence)]
    return list(dict.fromkeys(found))  # a repeated update is one piece of evidence


def _docs(evidence: Evidence) -> list[tuple[str, ChainRecord, dict[str, Any]]]:
    return [
        (chain_id, record, record.document)
        for chain_id, record in sorted(evidence.chains.items())
        if record.document is not None
    ]


def chains_end_within_bound(evidence: Evidence) -> list[Violation]:
    """1. Every chain ends, within run_timeout plus a poll interval per attempt (and slack), and
    no lane is left following a run Spacelift ended (it would strand the stack's next chain)."""
    found = []
    for chain_id, record in sorted(evidence.chains.items()):
        name = "1 chain ends within its bound"
        stacks = evidence.chain_stacks.get(chain_id) or list(evidence.scenario.graph)
        bound = chain_bound(evidence.scenario, stacks, evidence.restart_slack)
        doc = record.document
        if record.problem or doc is None:
            found.append(Violation(name, f"{chain_id}: {record.problem or 'no document'}"))
        elif doc["status"] == "running":
            waiting = {s: p["state"] for s, p in doc["stacks"].items() if p["state"] not in FINAL}
            found.append(Violation(name, f"{chain_id} stalled past {bound:.0f}s: {waiting}"))
        elif (took := _seconds(doc)) > bound:
            found.append(Violation(name, f"{chain_id} took {took:.1f}s, bound {bound:.1f}s"))
    stranded = "1 chain ends within its bound (no stack stranded)"
    found += [
        Violation(stranded, f"lane of {stack} {view}: the stack's next request would wait for ever")
        for stack, view in sorted(evidence.stale_lanes.items())
    ]
    return found


def _seconds(doc: dict[str, Any]) -> float:
    started = datetime.fromisoformat(doc["started_at"])
    return (datetime.fromisoformat(doc["finished_at"]) - started).total_seconds()


def one_run_per_attempt(evidence: Evidence) -> list[Violation]:
    """2. The engine's runs of a stack never outnumber the attempts chains made of it, one run
    serves each attempt, and two engine runs of a stack are never in flight at once unless the
    earlier one ends stopped (an orphan the engine stopped)."""
    name, found = "2 one run per (chain, stack, attempt)", []
    attempts: Counter[str] = Counter()
    for chain_id, record, doc in _docs(evidence):
        for stack, progress in doc["stacks"].items():
            attempts[stack] += int(progress["attempts"])
            for attempt, runs in sorted(record.attempt_runs(stack).items()):
                if len(runs) > 1:
                    found.append(Violation(name, f"{chain_id} {stack} #{attempt}: runs {runs}"))
    for stack in evidence.scenario.graph:
        mine = evidence.engine_runs(stack)
        if len(mine) > attempts[stack]:
            ids = [f"{r.id}:{r.state.value}" for r in mine]
            text = f"{stack}: {len(mine)} engine runs {ids} for {attempts[stack]} attempts"
            found.append(Violation(name, text))
        for earlier, later in itertools.pairwise(mine):
            ended = earlier.history[-1].timestamp if earlier.is_terminal else float("inf")
            if ended > later.created_at and earlier.state not in STOPPED_STATES:
                text = (
                    f"{stack}: {later.id} created while {earlier.id} ran (it ended {earlier.state})"
                )
                found.append(Violation(name, text))
    return found


def no_foreign_run_in_a_chain(evidence: Evidence) -> list[Violation]:
    """3. A chain shows only runs the engine made, except its root, shown with the person's run;
    every run it shows, or a lane reports to it, is a run of the stack it stands for."""
    name, found = "3 no one else's run is a chain's run", []
    for chain_id, record, doc in _docs(evidence):
        root = doc["root_stack"]
        runs_root = root in evidence.chain_stacks.get(chain_id, [])
        found += _wrong_stack(name, evidence, f"{chain_id} root", root, doc["root_run_id"])
        for stack, progress in doc["stacks"].items():
            run = evidence.run(progress["run_id"])
            found += _wrong_stack(name, evidence, f"{chain_id} {stack}", stack, progress["run_id"])
            if stack == root and not runs_root:
                if progress["run_id"] != doc["root_run_id"]:
                    found.append(Violation(name, f"{chain_id}: root shown as {progress}"))
            elif run is not None and run.triggered_by != ENGINE:
                text = f"{chain_id} {stack}: run {run.id} by {run.triggered_by!r}"
                found.append(Violation(name, text))
        for update in record.updates:
            run = evidence.run(update.run_id)
            where = f"{chain_id}: lane reported for {update.key}"
            key_stack = _key_stack(update.key)
            if key_stack != update.stack_id:
                found.append(Violation(name, f"{where}: an update of stack {update.stack_id}"))
            found += _wrong_stack(name, evidence, where, key_stack, update.run_id)
            if run is not None and run.triggered_by != ENGINE:
                who = run.triggered_by
                text = f"{chain_id}: lane reported {who!r}'s run {run.id} for {update.key}"
                found.append(Violation(name, text))
    return found


def _key_stack(key: str) -> str:
    """The stack of a request key ``chain/stack/attempt`` ('' when it has no such shape)."""
    parts = key.rsplit("/", 2)
    return parts[1] if len(parts) == 3 else ""


def _wrong_stack(
    name: str, evidence: Evidence, where: str, stack: str, run_id: str | None
) -> list[Violation]:
    """A run shown for ``stack`` that Spacelift does not have, or has as another stack's."""
    if run_id is None:
        return []
    run = evidence.run(run_id)
    if run is None:
        return [Violation(name, f"{where}: run {run_id}, which Spacelift does not have")]
    if run.stack_id != stack:
        return [Violation(name, f"{where}: {run.stack_id}'s run {run.id} shown as {stack}'s")]
    return []


def final_states_agree_with_spacelift(evidence: Evidence) -> list[Violation]:
    """5. Final states match Spacelift's truth and the policies."""
    return [
        v
        for chain_id, record, doc in _docs(evidence)
        for v in check_chain(evidence, chain_id, record, doc)
    ]


def fresh_roots_get_one_chain(evidence: Evidence) -> list[Violation]:
    """6. Every FINISHED tracked run a person made on a stack with dependents has exactly one
    chain, ``chain-<stack>-<run id>``; no engine run is ever taken for a root."""
    name, found = "6 every fresh root gets exactly one chain", []
    for run in evidence.runs:
        if run.triggered_by != PERSON or run.state is not RunState.FINISHED:
            continue
        if evidence.scenario.dependents(run.stack_id):
            chain_id = root_chain_id(run.stack_id, run.id)
            if chain_id not in evidence.chains:
                found.append(
                    Violation(name, f"person's run {run.stack_id}/{run.id}: no {chain_id}")
                )
    for req in evidence.planned:
        planned = evidence.run(req.run_id)
        if planned is not None and planned.triggered_by == ENGINE:
            found.append(
                Violation(name, f"engine run {req.stack_id}/{req.run_id} taken for a root")
            )
    for chain_id, _, doc in _docs(evidence):
        root = evidence.run(doc["root_run_id"])
        if root is not None and root.triggered_by != PERSON:
            found.append(
                Violation(name, f"{chain_id} has root run {root.id} by {root.triggered_by}")
            )
    roots = Counter(doc["root_run_id"] for _, _, doc in _docs(evidence) if doc["root_run_id"])
    found += [Violation(name, f"root run {r} has {n} chains") for r, n in roots.items() if n > 1]
    return found


def histories_replay(evidence: Evidence) -> list[Violation]:
    """7. Every workflow history the seed made replays against the code that made it, and none
    of its workflow tasks failed live: a workflow that is not deterministic stalls its chain the
    moment a worker has to replay it."""
    name = "7 every history replays"
    return [Violation(name, f"{run}: {why}") for run, why in evidence.replay_failures.items()]
