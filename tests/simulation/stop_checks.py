"""Invariant 4: a run nobody waits on any more is stopped (contract: "Stopping means stopped").

Once every chain has ended, each run stackchain created

- has ended (none is left QUEUED, UNCONFIRMED or running), and
- if it ended on its own (FINISHED or FAILED, not STOPPED, CANCELED or DISCARDED), committed to
  that end (entered APPLYING, or ended) while some chain still needed it, or so soon after the
  last one let it go that no stop could have landed first. A run that waited in UNCONFIRMED or
  QUEUED long after every chain had let it go, and then applied, was never stopped.
- if stackchain itself confirmed it (Spacelift records its API key on the move to APPLYING),
  some chain that the run served asked for that confirmation before it let the run go; a run
  is never confirmed instead of stopped. This part needs no grace: the chain's own history
  orders its ``confirm_run`` and ``release_run`` signals (a confirmation asked for before the
  release may still land after it: the two cross on their way, and that is allowed).

When a chain stops needing the run that serves one of its attempts is read from the chain's own
history and the contract, whichever comes first: its ``release_run`` signal for the attempt, the
attempt's ``run_timeout`` after the chain asked for the run, an operator's cancel reaching the
chain, and the chain's end. A run no chain heard of (a lost trigger's, or one made for a chain
that had already ended) was needed by nobody from the moment it was created.

The leeway: Temporal's latency from that moment to the stop call landing in Spacelift, plus the
retries of calls the seed made fail on the run's stack meanwhile (each doubles the wait, from one
second), plus any worker restart in between.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from spacelift.models import RunState
from spacelift.sandbox.runs import SimRun
from tests.simulation.evidence import ChainRecord, Evidence, Violation
from tests.simulation.scenario import ENGINE

NAME = "4 runs nobody waits on end stopped"
STOPPED_STATES = {RunState.STOPPED, RunState.CANCELED, RunState.DISCARDED}
STOP_GRACE_SECONDS = 15.0
"""From the moment the last chain let a run go to the stop landing in Spacelift: the chain's
workflow task, the release signal, the lane's workflow task, the stop activity's read and call.
The same budget as invariant 1's for Temporal on a loaded two-core machine: with other suites
running beside 16 seeds at once, stops were seen landing 7 s after the chain let the run go."""
FAULT_RETRY_SECONDS = 1.0
"""Temporal's first retry interval for a failed call; it doubles at every further failure."""
FAULT_LOOKBACK_SECONDS = 16.0
"""A call already backing off when the run was let go delays the lane's stop as well."""
RESTART_RECOVERY_SECONDS = 12.0
"""After a worker restart: workflow tasks leave the old worker's sticky queue (10 s) and the
activities it was running are retried."""
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Fate:
    """How a run ended on its own, against when nobody needed it any more."""

    run: SimRun
    let_go: float
    committed: float
    step: RunState

    @property
    def late(self) -> float:
        return self.committed - self.let_go


def unneeded_runs_end_stopped(evidence: Evidence) -> list[Violation]:
    """4. Once every chain has ended, no run the engine created is still going, and none that
    every chain had let go went on to apply (or fail) instead of being stopped."""
    docs = [record.document for record in evidence.chains.values() if record.document]
    if any(doc["status"] == "running" for doc in docs):
        return []  # judged by invariant 1; a running chain may still need its run
    found = []
    for run in evidence.runs:
        if run.triggered_by != ENGINE:
            continue
        if not run.is_terminal:
            found.append(Violation(NAME, f"{run.stack_id} run {run.id} left {run.state.value}"))
        elif run.state not in STOPPED_STATES and (fate := _fate(evidence, run)) is not None:
            grace = _grace(evidence, fate)
            if fate.late > grace:
                found.append(Violation(NAME, _describe(fate, grace)))
        if (unasked := _confirmed_unasked(evidence, run)) is not None:
            found.append(Violation(NAME, f"{run.stack_id} run {run.id}: {unasked}"))
    return found


def _confirmed_unasked(evidence: Evidence, run: SimRun) -> str | None:
    """Why the engine's confirmation of the run was not asked for by a chain that needed it
    (None when it was, or when the engine did not confirm the run).

    A chain that asks for the confirmation in the same step as it lets the run go (one workflow
    task: its signals carry the same moment) did not need the run any more.
    """
    confirmed = next((t for t in run.history if t.state is RunState.APPLYING), None)
    if confirmed is None or confirmed.username != ENGINE:
        return None
    late: list[str] = []
    for chain_id, record in sorted(evidence.chains.items()):
        asked = record.confirms.get(run.id)
        keys = {update.key for update in record.updates if update.run_id == run.id}
        if asked is None or not keys:
            continue
        held = max(_held_until(record, key) for key in keys)
        if asked < held:
            return None
        seconds = (asked - held).total_seconds()
        late.append(f"{chain_id} asked for that only as it let the run go ({seconds:.3f}s after)")
    why = late[0] if late else "no chain it served asked for that"
    return f"stackchain confirmed it (it went on to {run.state.value}), but {why}"


def _held_until(record: ChainRecord, key: str) -> datetime:
    """When the chain itself let the run of ``key`` go: its release, or its end (never: max)."""
    moments = [record.released.get(key)]
    doc = record.document
    if doc is not None and doc.get("finished_at"):
        moments.append(datetime.fromisoformat(doc["finished_at"]))
    return min((moment for moment in moments if moment is not None), default=_NEVER)


def _describe(fate: _Fate, grace: float) -> str:
    run, step = fate.run, fate.step.value
    how = f"ended {step}" if fate.step.is_terminal else f"entered {step}, then ended {run.state}"
    return (
        f"{run.stack_id} run {run.id} {how} {fate.late:.1f}s after the last chain let it go "
        f"(grace {grace:.1f}s): it was never stopped"
    )


def _fate(evidence: Evidence, run: SimRun) -> _Fate | None:
    """The run's commitment to its end, and when it was let go; None while a chain needs it."""
    let_go = _let_go(evidence, run)
    if let_go is None:
        return None
    step = next(t for t in run.history if t.state is RunState.APPLYING or t.state.is_terminal)
    return _Fate(run, let_go, step.timestamp, step.state)


def _let_go(evidence: Evidence, run: SimRun) -> float | None:
    """When the last chain that the run served stopped needing it (unix seconds).

    None when that cannot be told (a chain without a document): the run is not judged.
    """
    served = {
        (chain_id, update.key)
        for chain_id, record in evidence.chains.items()
        for update in record.updates
        if update.run_id == run.id
    }
    if not served:
        return run.created_at  # no chain ever heard of it
    moments = [_key_let_go(evidence, evidence.chains[chain], key) for chain, key in served]
    if any(moment is None for moment in moments):
        return None
    return max(moment for moment in moments if moment is not None)


def _key_let_go(evidence: Evidence, record: ChainRecord, key: str) -> float | None:
    """The first moment the chain no longer needed the run of attempt ``key``."""
    moments = []
    if (released := record.released.get(key)) is not None:
        moments.append(released.timestamp())
    if (requested := record.requested.get(key)) is not None:
        moments.append(requested.timestamp() + evidence.scenario.run_timeout)
    if record.canceled_at is not None:
        moments.append(record.canceled_at.timestamp())
    doc = record.document
    if doc is not None and doc.get("finished_at"):
        moments.append(datetime.fromisoformat(doc["finished_at"]).timestamp())
    return min(moments, default=None)


def _grace(evidence: Evidence, fate: _Fate) -> float:
    """How late a run may commit to its end after it was let go, for this seed at that time."""
    faults = [
        fault
        for fault in evidence.faults
        if fault.stack_id == fate.run.stack_id
        and fate.let_go - FAULT_LOOKBACK_SECONDS <= fault.at <= fate.committed
    ]
    restarts = [
        action
        for action in evidence.scenario.actions
        if action.kind == "restart"
        and (down := evidence.started_at + action.at) <= fate.committed
        and down + action.downtime + RESTART_RECOVERY_SECONDS >= fate.let_go
    ]
    retries = FAULT_RETRY_SECONDS * ((1 << len(faults)) - 1)
    outages = sum(action.downtime + RESTART_RECOVERY_SECONDS for action in restarts)
    return STOP_GRACE_SECONDS + retries + outages
