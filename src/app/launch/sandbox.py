"""The Spacelift sandbox as stackchain runs it: its world from the dependency file, as a process.

``stackchain sandbox`` runs it alone; ``serve`` runs one beside the rest when no Spacelift account
is configured.

Every stack of the file exists in the sandbox. Stacks with upstreams keep Spacelift's own
default of not auto-deploying: their runs stop in UNCONFIRMED, where the file's ``confirm``
decides (``auto``: stackchain confirms; ``wait``: a person approves). Stacks at the top of the
file's graph auto-deploy, so a push to one runs through and starts a chain. Runs take a few
seconds, long enough to watch a chain with ``stackchain status --watch``.
"""

import asyncio
import contextlib
from typing import NoReturn

from app.launch.runtime import exit_process, run_until_stopped
from app.stackfile import StackGraph
from spacelift.sandbox import Durations, SandboxConfig, SandboxStack, WebhookTarget, serve_sandbox

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


def run_sandbox_process(config: SandboxConfig, *, port: int) -> NoReturn:
    """Serve the sandbox on ``port`` until SIGINT or SIGTERM, then leave."""

    async def main(stop: asyncio.Event) -> None:
        task = asyncio.create_task(serve_sandbox(config, port=port))
        await asyncio.wait({task, asyncio.create_task(stop.wait())}, return_when="FIRST_COMPLETED")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    exit_process(run_until_stopped(main))
