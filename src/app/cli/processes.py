"""``stackchain serve``, ``api``, ``worker`` and ``sandbox``: the commands that start a process.

Each refuses a bad set-up before anything starts, then hands over to ``app.launch``, which it
imports in its body (LAUNCH_IMPORTS_ARE_LAZY in ``app.cli``).
"""

from typing import Annotated

import typer
from rich.console import Console

from app.cli.common import USAGE, fail, settings_or_fail, stderr
from app.core.logs import configure_logging
from app.core.settings import BindRefusedError, check_bind
from app.core.temporal_connect import temporal_target
from app.core.webhook_secret import (
    WebhookSecretMissingError,
    resolve_webhook_secret,
    sandbox_webhook_secret,
)
from app.stackfile import StackFileError, load_stack_graph


def worker() -> None:
    """Run the chain engine's worker (workflows and activities) on STACKCHAIN_TASK_QUEUE."""
    from app.launch.worker import run_worker_process  # noqa: PLC0415 - see LAUNCH_IMPORTS_ARE_LAZY

    settings = settings_or_fail()
    if settings.uses_sandbox:
        raise fail(
            "no Spacelift account is configured (SPACELIFT_API_KEY_ENDPOINT): run "
            "`stackchain serve` for the built-in sandbox, or point the worker at one"
        )
    configure_logging()
    run_worker_process(settings, stderr())


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
    from app.launch.serve import ServeOptions, run_serve_process  # noqa: PLC0415 - see LAUNCH_IMPORTS_ARE_LAZY

    settings = settings_or_fail()
    try:
        check_bind(host, has_token=settings.api_token is not None)
    except BindRefusedError as error:
        raise fail(str(error), code=USAGE) from None
    try:
        resolve_webhook_secret(settings)  # before anything starts, as `api` does
    except WebhookSecretMissingError as error:
        raise fail(str(error), code=USAGE) from None
    configure_logging()
    options = ServeOptions(
        host=host,
        port=port,
        sandbox_port=sandbox_port,
        temporal_port=temporal_port,
        temporal_ui_port=temporal_ui_port,
    )
    run_serve_process(settings, options)


def api(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.", min=1, max=65535)] = 8000,
) -> None:
    """Run the web server alone (webhooks and /api/v1), against TEMPORAL_ADDRESS."""
    from app.launch.api import build_api, run_api_process  # noqa: PLC0415 - see LAUNCH_IMPORTS_ARE_LAZY

    settings = settings_or_fail()
    try:
        check_bind(host, has_token=settings.api_token is not None)
        app = build_api(settings)  # never with the sandbox's public webhook secret
    except (BindRefusedError, WebhookSecretMissingError) as error:
        raise fail(str(error), code=USAGE) from None
    configure_logging()
    address = temporal_target(settings)
    Console(stderr=True).print(f"stackchain API on http://{host}:{port} (Temporal at {address})")
    run_api_process(app, settings, host=host, port=port)


def sandbox(
    port: Annotated[int, typer.Option(help="Port of the sandbox.", min=1, max=65535)] = 8001,
    webhook_url: Annotated[
        str | None, typer.Option(help="Where to send signed webhooks (none if unset).")
    ] = None,
) -> None:
    """Run the Spacelift sandbox alone, with the dependency file's stacks."""
    from app.launch.sandbox import run_sandbox_process, sandbox_config  # noqa: PLC0415 - see LAUNCH_IMPORTS_ARE_LAZY
    from spacelift.sandbox import DEFAULT_KEY_ID  # noqa: PLC0415

    settings = settings_or_fail()
    try:
        graph = load_stack_graph(settings.config_path)
    except StackFileError as error:
        raise fail(str(error)) from None
    secret = sandbox_webhook_secret(settings).decode()
    config = sandbox_config(graph, webhook_url=webhook_url, webhook_secret=secret)
    configure_logging()
    stderr().print(f"Spacelift sandbox: http://127.0.0.1:{port}/graphql (key {DEFAULT_KEY_ID})")
    run_sandbox_process(config, port=port)


def register(app: typer.Typer) -> None:
    """Add the commands that start a long-running process to the CLI."""
    app.command()(serve)
    app.command()(worker)
    app.command()(sandbox)
    app.command()(api)
