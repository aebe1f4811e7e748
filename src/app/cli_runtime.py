"""``stackchain worker``: the long-running parts, one process each to scale out."""

import asyncio

import typer

from app.runtime import exit_process, run_until_stopped, run_worker
from app.settings import SettingsError, load_settings
from app.temporal_connect import connect_temporal


def worker() -> None:
    """Run the chain engine's worker (workflows and activities) on STACKCHAIN_TASK_QUEUE."""
    try:
        settings = load_settings()
    except SettingsError as error:
        typer.echo(f"stackchain: {error}", err=True)
        exit_process(1)
        return
    if settings.uses_sandbox:
        typer.echo(
            "stackchain: no Spacelift account is configured (SPACELIFT_API_KEY_ENDPOINT): "
            "run `stackchain serve` for the built-in sandbox, or point the worker at one",
            err=True,
        )
        exit_process(1)
        return

    async def main(stop: asyncio.Event) -> None:
        client = await connect_temporal(settings)
        typer.echo(f"worker: task queue {settings.task_queue!r} on {settings.temporal_address}")
        await run_worker(settings, client, stop)

    exit_process(run_until_stopped(main))


def register(app: typer.Typer) -> None:
    """Add the long-running commands to the CLI."""
    app.command()(worker)
