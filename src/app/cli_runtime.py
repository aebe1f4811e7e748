"""``stackchain serve``, ``worker`` and ``sandbox``: the long-running parts as processes."""

import asyncio
import contextlib
from typing import Annotated

import typer

from app.cli_common import USAGE, fail, settings_or_fail, stderr
from app.core.logs import configure_logging
from app.core.settings import BindRefusedError, SettingsError, check_bind
from app.core.temporal_connect import connect_temporal, temporal_target
from app.core.webhook_secret import resolve_webhook_secret, sandbox_webhook_secret
from app.runtime import exit_process, run_until_stopped, run_worker
from app.stackfile import StackFileError, load_stack_graph


def worker() -> None:
    """Run the chain engine's worker (workflows and activities) on STACKCHAIN_TASK_QUEUE."""
    settings = settings_or_fail()
    if settings.uses_sandbox:
        raise fail(
            "no Spacelift account is configured (SPACELIFT_API_KEY_ENDPOINT): run "
            "`stackchain serve` for the built-in sandbox, or point the worker at one"
        )
    configure_logging()

    async def main(stop: asyncio.Event) -> None:
        client = await connect_temporal(settings)
        where = temporal_target(settings)
        stderr().print(f"worker: task queue {settings.task_queue!r} on Temporal at {where}")
        await run_worker(settings, client, stop)

    exit_process(run_until_stopped(main))


def serve(
    host: Annotated[str, typer.Option(help="Address the API binds.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API.", min=1, max=65535)] = 8000,
    temporal_port: Annotated[
        int, typer.Option(help="Embedded Temporal's frontend port.", min=1, max=65535)
    ] = 7233,
    temporal_ui_port: Annotated[
        int, typer.Option(help="Embedded Temporal's Web UI port.", min=1, max=65535)
    ] = 8233,
    sandbox_port: Annotated[
        int, typer.Option(help="The sandbox's port (no Spacelift account).", min=1, max=65535)
    ] = 8001,
) -> None:
    """Run everything: API, worker, embedded Temporal and (without an account) the sandbox."""
    from app.serve import ServeOptions  # noqa: PLC0415 - see WEB_IMPORTS_ARE_LAZY
    from app.serve import serve as run_serve  # noqa: PLC0415

    settings = settings_or_fail()
    try:
        check_bind(host, has_token=settings.api_token is not None)
    except BindRefusedError as error:
        raise fail(str(error), code=USAGE) from None
    try:
        resolve_webhook_secret(settings)  # before anything starts, as `api` does
    except SettingsError as error:
        raise fail(str(error)) from None
    configure_logging()
    options = ServeOptions(
        host=host,
        port=port,
        sandbox_port=sandbox_port,
        temporal_port=temporal_port,
        temporal_ui_port=temporal_ui_port,
    )
    exit_process(run_until_stopped(lambda stop: run_serve(settings, options, stop)))


def sandbox(
    port: Annotated[int, typer.Option(help="Port of the sandbox.", min=1, max=65535)] = 8001,
    webhook_url: Annotated[
        str | None, typer.Option(help="Where to send signed webhooks (none if unset).")
    ] = None,
) -> None:
    """Run the Spacelift sandbox alone, with the dependency file's stacks."""
    from app.sandbox_world import sandbox_config  # noqa: PLC0415 - see WEB_IMPORTS_ARE_LAZY
    from spacelift.sandbox import DEFAULT_KEY_ID, serve_sandbox  # noqa: PLC0415

    settings = settings_or_fail()
    try:
        graph = load_stack_graph(settings.config_path)
    except StackFileError as error:
        raise fail(str(error)) from None
    secret = sandbox_webhook_secret(settings).decode()
    config = sandbox_config(graph, webhook_url=webhook_url, webhook_secret=secret)
    configure_logging()
    stderr().print(f"Spacelift sandbox: http://127.0.0.1:{port}/graphql (key {DEFAULT_KEY_ID})")

    async def main(stop: asyncio.Event) -> None:
        task = asyncio.create_task(serve_sandbox(config, port=port))
        await asyncio.wait({task, asyncio.create_task(stop.wait())}, return_when="FIRST_COMPLETED")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    exit_process(run_until_stopped(main))


def register(app: typer.Typer) -> None:
    """Add the long-running commands to the CLI."""
    app.command()(serve)
    app.command()(worker)
    app.command()(sandbox)
