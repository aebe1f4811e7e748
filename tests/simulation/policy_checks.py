"""Invariant 5: a finished chain's stack states agree with Spacelift's truth and the policies.

- ``succeeded`` (after a run) means its run FINISHED; ``failed`` with ``run FAILED`` (or
  ``run STOPPED`` ...) means the run ended so.
- A stack that ran had every upstream in the chain done (succeeded, skipped as unchanged, or
  failed with ``on_failure: continue``).
- ``skipped`` and ``canceled`` give a reason the chain bears out: the upstream named is in the
  state named and does not let dependents go; ``chain stopped: U failed`` only for a ``stop_chain``
  stack that failed; ``chain canceled`` only after an operator's cancel.
- ``trigger: on_change`` skips only when no attempt of any upstream in the chain changed resources
  (by the runs' own delta in Spacelift), the root's run included.
"""

from typing import Any

from spacelift.sandbox.runs import SimRun
from temporal.chainstate import UNCHANGED
from temporal.inputs import OnFailure, Trigger
from tests.simulation.evidence import ChainRecord, Evidence, Violation

NAME = "5 final states agree with Spacelift and the policies"
Doc = dict[str, Any]


def check_chain(
    evidence: Evidence, chain_id: str, record: ChainRecord, doc: Doc
) -> list[Violation]:
    """Every stack the chain runs, once the chain has ended."""
    if doc["status"] == "running":
        return []
    members = evidence.chain_stacks.get(chain_id, [])
    judge = _Judge(evidence, chain_id, record, doc, members)
    return [
        Violation(NAME, f"{chain_id} {stack}: {problem} (stack {doc['stacks'][stack]})")
        for stack in members
        for problem in judge.problems(stack)
    ]


class _Judge:
    def __init__(
        self, evidence: Evidence, chain_id: str, record: ChainRecord, doc: Doc, members: list[str]
    ) -> None:
        self.evidence, self.chain_id, self.record = evidence, chain_id, record
        self.stacks: dict[str, Doc] = doc["stacks"]
        self.root, self.root_run_id = doc["root_stack"], doc["root_run_id"]
        self.members = members

    def upstreams(self, stack: str) -> list[str]:
        graph = self.evidence.scenario.graph
        if stack == self.root:
            return []
        return [up for up in graph[stack] if up in self.members or up == self.root]

    def problems(self, stack: str) -> list[str]:
        progress = self.stacks[stack]
        state, reason = progress["state"], progress["reason"] or ""
        found = self._truth(progress)
        if progress["attempts"] > 0:
            found += [
                f"ran although upstream {up} is {self.stacks[up]['state']}"
                for up in self.upstreams(stack)
                if not self._done(up)
            ]
        if state == "skipped":
            found += self._skip(stack, reason)
        elif state == "canceled":
            found += self._cancel(reason)
        return found

    def _truth(self, progress: Doc) -> list[str]:
        run = self.evidence.run(progress["run_id"])
        state, reason = progress["state"], progress["reason"] or ""
        if progress["attempts"] == 0 or (run is None and state != "succeeded"):
            return []
        if state == "succeeded" and (run is None or run.state.value != "FINISHED"):
            return [f"succeeded, but its run is {run.state.value if run else 'unknown'}"]
        ended = reason.removeprefix("run ")
        if state == "failed" and reason.startswith("run ") and ended != "timed out":
            assert run is not None
            if run.state.value != ended:
                return [f"failed with {reason!r}, but run {run.id} is {run.state.value}"]
        return []

    def _done(self, stack: str) -> bool:
        if stack not in self.members:
            return True
        progress = self.stacks[stack]
        policy = self.evidence.scenario.policies[stack]
        return (
            progress["state"] == "succeeded"
            or (progress["state"] == "skipped" and progress["reason"] == UNCHANGED)
            or (progress["state"] == "failed" and policy.on_failure == OnFailure.CONTINUE)
        )

    def _skip(self, stack: str, reason: str) -> list[str]:
        if reason == UNCHANGED:
            if self.evidence.scenario.policies[stack].trigger != Trigger.ON_CHANGE:
                return ["skipped as unchanged, but its trigger is always"]
            return [
                f"skipped as unchanged, but upstream {up} changed resources ({why})"
                for up in self.upstreams(stack)
                if (why := self._changed(up))
            ]
        upstream, _, upstream_state = reason.removeprefix("upstream ").partition(" ")
        if upstream not in self.stacks or self.stacks[upstream]["state"] != upstream_state:
            return [f"skipped for {reason!r}, which the chain does not bear out"]
        if self._done(upstream):
            return [f"skipped for {reason!r}, but {upstream}'s policy lets dependents go"]
        return []

    def _cancel(self, reason: str) -> list[str]:
        if reason == "chain canceled":
            return [] if self.chain_id in self.evidence.canceled else ["canceled, nobody canceled"]
        if reason.startswith("chain stopped: "):
            failed = reason.removeprefix("chain stopped: ").removesuffix(" failed")
            policy = self.evidence.scenario.policies.get(failed)
            ok = self.stacks.get(failed, {}).get("state") == "failed"
            if ok and policy is not None and policy.on_failure == OnFailure.STOP_CHAIN:
                return []
        if reason.startswith("upstream ") and reason.endswith(" canceled"):
            upstream = reason.removeprefix("upstream ").removesuffix(" canceled")
            if self.stacks.get(upstream, {}).get("state") == "canceled":
                return []
        return [f"canceled for {reason!r}, which the chain does not bear out"]

    def _changed(self, stack: str) -> str:
        """Why ``stack`` counts as changed in this chain ('' when it did not change)."""
        if stack not in self.members:
            run = self.evidence.run(self.root_run_id)
            if run is None:
                return "a manual chain's root counts as changed"
            return f"root run {run.id}" if _changes(run) else ""
        if self.stacks[stack]["state"] == "failed":
            return "it failed"
        runs = {r for ids in self.record.attempt_runs(stack).values() for r in ids}
        changed = [r for r in sorted(runs) if (run := self.evidence.run(r)) and _changes(run)]
        return f"runs {changed}" if changed else ""


def _changes(run: SimRun) -> bool:
    """Spacelift's truth: the run planned and its delta touches resources."""
    delta = run.delta
    return run.planned and bool(delta.added or delta.changed or delta.deleted)
