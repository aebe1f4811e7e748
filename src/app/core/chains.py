"""From the dependency file to a chain: the frozen input a ``DependencyChain`` starts with.

The file is read anew for every chain, so an edit affects new chains only; a running chain keeps
the graph it started with.
"""

from pathlib import Path

from app.core.errors import UnavailableError
from app.core.graph_source import GraphSource
from app.stackfile import Plan, StackGraph, StackPolicy
from temporal import inputs
from temporal.activities import ChainPlanner, RootStacks
from temporal.inputs import ChainInput, ChainStack, StartChainRequest


def _policy(policy: StackPolicy) -> inputs.StackPolicy:
    return inputs.StackPolicy(
        retries=policy.retries,
        retry_backoff_seconds=policy.retry_backoff.total_seconds(),
        on_failure=policy.on_failure,
        confirm=policy.confirm,
        trigger=policy.trigger,
    )


def chain_input(
    graph: StackGraph,
    plan: Plan,
    *,
    root_run_id: str | None = None,
    root_commit: str | None = None,
    root_has_changes: bool = True,
    spacelift_url: str = "",
) -> ChainInput:
    """The workflow input for ``plan``, in wave order.

    When the root is not run by the chain it still counts as an upstream of its direct
    dependents (a succeeded one, with the root run's changes), so ``trigger: on_change`` can
    see whether the root changed anything.
    """
    root = plan.root
    stacks = []
    for planned in plan.stacks:
        upstreams = list(planned.upstreams)
        if not plan.include_root and root in graph.upstreams[planned.id]:
            upstreams.insert(0, root)
        stacks.append(ChainStack(planned.id, upstreams, _policy(planned.policy)))
    return ChainInput(
        root_stack=root,
        stacks=stacks,
        root_run_id=root_run_id,
        root_commit=root_commit,
        root_has_changes=root_has_changes,
        max_parallel=plan.chain.max_parallel,
        run_timeout_seconds=plan.chain.run_timeout.total_seconds(),
        spacelift_url=spacelift_url,
    )


def root_planner(config_path: Path, spacelift_url: str) -> ChainPlanner:
    """What a lane calls when a root run finishes: the chain over the stack's descendants.

    None when the stack is not in the file or nothing depends on it. A file that became
    invalid raises, so the activity retries until someone fixes it (and the root is not lost).
    The file is parsed again only when it changed on disk.
    """
    graphs = GraphSource(config_path)

    def plan(req: StartChainRequest) -> ChainInput | None:
        graph = graphs.graph()
        if req.stack_id not in graph.upstreams:
            return None
        planned = graph.plan(req.stack_id)
        if not planned.stacks:
            return None
        return chain_input(
            graph,
            planned,
            root_run_id=req.run_id,
            root_commit=req.commit_sha,
            root_has_changes=req.has_changes,
            spacelift_url=spacelift_url,
        )

    return plan


def root_stacks(config_path: Path) -> RootStacks:
    """What the reconciler asks: the file's stacks that have dependents (so can be roots).

    An invalid file gives none (the reconciler tries again next round); it is read again only
    when it changed on disk.
    """
    graphs = GraphSource(config_path)

    def stacks() -> list[str]:
        try:
            graph = graphs.graph()
        except UnavailableError:
            return []
        return [stack for stack, downs in graph.downstreams.items() if downs]

    return stacks
