"""The sandbox's world built from the dependency file, for ``stackchain serve`` and ``sandbox``.

Every stack of the file exists in the sandbox. Stacks with upstreams keep Spacelift's own
default of not auto-deploying: their runs stop in UNCONFIRMED, where the file's ``confirm``
decides (``auto``: stackchain confirms; ``wait``: a person approves). Stacks at the top of the
file's graph auto-deploy, so a push to one runs through and starts a chain. Runs take a few
seconds, long enough to watch a chain with ``stackchain status --watch``.
"""

from app.stackfile import StackGraph
from spacelift.sandbox import Durations, SandboxConfig, SandboxStack, WebhookTarget

DEMO_DURATIONS = Durations(queued=0.3, preparing=0.5, planning=1.0, applying=1.0)


def sandbox_config(
    graph: StackGraph,
    *,
    webhook_url: str | None,
    webhook_secret: str,
    durations: Durations = DEMO_DURATIONS,
) -> SandboxConfig:
    """A sandbox holding the file's stacks, signing webhooks to ``webhook_url`` (if any)."""
    stacks = tuple(
        SandboxStack(
            id=stack_id,
            autodeploy=not graph.upstreams[stack_id],
            depends_on=tuple(graph.upstreams[stack_id]),
            durations=durations,
        )
        for stack_id in graph.stacks
    )
    webhook = (
        WebhookTarget(url=webhook_url, secret=webhook_secret) if webhook_url is not None else None
    )
    return SandboxConfig(stacks=stacks, webhook=webhook)
