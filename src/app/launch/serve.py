"""``stackchain serve``: the whole system in one process tree.

The API and the worker run in this process; the embedded Temporal dev server (when
``TEMPORAL_ADDRESS`` is unset) is a child process keeping its state in ``.stackchain/`` (0700,
its files 0600: the process runs under a private umask); the Spacelift sandbox (when no Spacelift
account is configured) serves on loopback in this process and sends its signed webhooks to this
API. Without ``STACKCHAIN_API_TOKEN`` it says loudly that the API is open to every local user.
"""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import NoReturn

from pydantic import SecretStr
from rich.console import Console
from rich.text import Text

from app.core.local_files import PRIVATE_UMASK, STATE_DIR, secure_state_dir
from app.core.settings import Settings
from app.core.temporal_connect import connect_temporal
from app.core.webhook_secret import resolve_webhook_secret
from app.launch.api import uvicorn_server
from app.launch.runtime import exit_process, run_until_stopped
from app.launch.sandbox import sandbox_config
from app.launch.worker import run_worker
from app.stackfile import load_stack_graph
from app.web.server import create_app
from spacelift.sandbox import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, running_sandbox
from temporal.devserver import DevServer

SANDBOX_PORT = 8001


@dataclass(frozen=True)
class ServeOptions:
    """Where ``serve`` listens."""

    host: str = "127.0.0.1"
    port: int = 8000
    sandbox_port: int = SANDBOX_PORT
    temporal_port: int = 7233
    temporal_ui_port: int = 8233


@contextlib.asynccontextmanager
async def _temporal(
    settings: Settings, options: ServeOptions, console: Console
) -> AsyncIterator[DevServer | None]:
    """The embedded dev server when no Temporal is configured, its state kept private."""
    if not settings.embedded_temporal:
        yield None
        return
    for change in secure_state_dir(STATE_DIR):
        console.print(Text.assemble(("warning: ", "bold yellow"), f"made private: {change}"))
    server = DevServer(
        STATE_DIR / "temporal.db",
        port=options.temporal_port,
        ui_port=options.temporal_ui_port,
        namespace=settings.temporal_namespace,
        log_file=STATE_DIR / "temporal.log",
    )
    async with server:
        yield server


@contextlib.asynccontextmanager
async def _spacelift(settings: Settings, options: ServeOptions) -> AsyncIterator[Settings]:
    """The settings to run with: as given, or pointed at a sandbox served for the duration."""
    if not settings.uses_sandbox:
        yield settings
        return
    secret = resolve_webhook_secret(settings).decode()
    config = sandbox_config(
        load_stack_graph(settings.config_path),
        webhook_url=f"http://{_loopback(options.host)}:{options.port}/webhooks/spacelift",
        webhook_secret=secret,
    )
    async with running_sandbox(config, port=options.sandbox_port) as sandbox:
        yield settings.model_copy(
            update={
                "spacelift_endpoint": sandbox.url,
                "spacelift_key_id": DEFAULT_KEY_ID,
                "spacelift_key_secret": SecretStr(DEFAULT_KEY_SECRET),
                "webhook_secret": SecretStr(secret),
            }
        )


def _loopback(host: str) -> str:
    return "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104 - a bind-all host


async def serve(settings: Settings, options: ServeOptions, stop: asyncio.Event) -> None:
    """Run everything until ``stop`` is set, then shut it down in reverse order."""
    console = Console(stderr=True)
    async with (
        _temporal(settings, options, console) as embedded,
        _spacelift(settings, options) as given,
    ):
        live = (
            given.model_copy(update={"temporal_address": embedded.address}) if embedded else given
        )
        client = await connect_temporal(live)
        server = uvicorn_server(
            create_app(live, temporal=client), live, host=options.host, port=options.port
        )
        api = asyncio.create_task(server.serve(), name="api")
        worker = asyncio.create_task(run_worker(live, client, stop), name="worker")
        announce(console, settings, live, options, embedded.ui_url if embedded else None)
        done, _ = await asyncio.wait({api, worker}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        server.should_exit = True
        await asyncio.gather(api, worker, return_exceptions=True)
        for task in done:
            task.result()  # a part that stopped by itself: its error is the process's


def run_serve_process(settings: Settings, options: ServeOptions) -> NoReturn:
    """Run everything until SIGINT or SIGTERM, then leave with the process's exit code."""
    os.umask(PRIVATE_UMASK)  # what serve and its Temporal write (.stackchain/) is the user's alone
    exit_process(run_until_stopped(lambda stop: serve(settings, options, stop)))


def announce(
    console: Console, given: Settings, live: Settings, options: ServeOptions, ui_url: str | None
) -> None:
    """Say where everything is, whether the sandbox stands in, and whether the API is open."""
    api = f"http://{options.host}:{options.port}"
    console.print(f"[bold]stackchain[/] API        {api}  (webhooks: {api}/webhooks/spacelift)")
    temporal = ui_url or f"{given.temporal_address} (namespace {given.temporal_namespace})"
    console.print(f"           Temporal   {temporal}")
    if given.uses_sandbox:
        console.print(
            f"[bold yellow]SANDBOX:[/] no Spacelift account is configured; runs happen in the "
            f"built-in Spacelift sandbox at {live.spacelift_endpoint} (not a real Spacelift)"
        )
        console.print(
            f"  start a chain:  curl -X POST {live.spacelift_endpoint}/sandbox/stacks/network/push"
        )
    else:
        console.print(f"           Spacelift  {live.spacelift_endpoint}")
    console.print("  watch chains:   stackchain chains; stackchain status CHAIN --watch")
    if given.api_token is None:
        console.print(open_api_warning(api))


def open_api_warning(api: str) -> Text:
    """The loud line ``serve`` ends its announcement with when no API token is set."""
    why = (
        f"the API and web console at {api} obey anyone who can reach it on loopback: every "
        "local user and program, and whatever a tunnel or proxy forwards to it, can cancel, "
        "approve and trigger chains. Set STACKCHAIN_API_TOKEN (in .env or the environment, "
        "e.g. from `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`) to "
        "require a bearer token."
    )
    return Text.assemble(("WARNING: no STACKCHAIN_API_TOKEN is set: ", "bold red"), (why, "red"))
