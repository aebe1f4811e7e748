"""The operator commands over HTTP: ``trigger``, ``chains``, ``status``, ``cancel``, ``approve``.

They talk to the API at ``STACKCHAIN_URL``, with ``STACKCHAIN_API_TOKEN`` as bearer token when it
is set; they refuse to send the token over plain http to a host that is not loopback unless
``--insecure`` is given. Data goes to stdout (``--output json`` for programs), errors to stderr.
Exit codes: 0 success, 1 failed (the API refused, the chain failed), 2 wrong usage.
"""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live

from app.cli.common import USAGE, Output, OutputOption, fail, settings_or_fail
from app.cli.operator_client import ApiClient, OperatorError, UnsafeUrlError
from app.cli.render import chain_table, chains_table
from temporal.inputs import ChainStatus

IntervalOption = Annotated[
    float, typer.Option("--interval", min=0.05, help="Seconds between reads.", hidden=True)
]
InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="Send STACKCHAIN_API_TOKEN over plain http to a host that is not loopback.",
    ),
]


@contextmanager
def _api(*, insecure: bool) -> Iterator[ApiClient]:
    settings = settings_or_fail()
    token = settings.api_token.get_secret_value() if settings.api_token else None
    try:
        client = ApiClient(settings.url, token=token, insecure=insecure)
    except UnsafeUrlError as error:
        raise fail(str(error), code=USAGE) from None
    try:
        yield client
    except OperatorError as error:
        raise fail(str(error)) from None
    finally:
        client.close()


def _print_json(data: Any) -> None:  # noqa: ANN401 - any JSON
    typer.echo(json.dumps(data, indent=2))


def _follow(client: ApiClient, chain_id: str, interval: float, *, live: bool) -> dict[str, Any]:
    """Read the chain until it ends; a live table on the way when ``live``."""
    chain = client.chain(chain_id)
    if not live:
        while chain["status"] == ChainStatus.RUNNING:
            time.sleep(interval)
            chain = client.chain(chain_id)
        return chain
    with Live(chain_table(chain), console=Console(), auto_refresh=False) as view:
        while chain["status"] == ChainStatus.RUNNING:
            time.sleep(interval)
            chain = client.chain(chain_id)
            view.update(chain_table(chain), refresh=True)
    return chain


def _end(chain: dict[str, Any], output: Output) -> None:
    if output is Output.JSON:
        _print_json(chain)
    if chain["status"] != ChainStatus.SUCCEEDED:
        raise fail(f"chain {chain['chain_id']} {chain['status']}")


def trigger(
    stack: Annotated[str, typer.Argument(help="The stack to start the chain from.")],
    *,
    include_root: Annotated[bool, typer.Option("--include-root", help="Run STACK too.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the chain until it ends.")] = False,
    output: OutputOption = Output.TEXT,
    interval: IntervalOption = 2.0,
    insecure: InsecureOption = False,
) -> None:
    """Start a chain from STACK by hand; with --wait, exit 1 unless it succeeds."""
    with _api(insecure=insecure) as client:
        chain_id = client.start_chain(stack, include_root=include_root)
        if output is Output.TEXT:
            typer.echo(chain_id)
        if not wait:
            if output is Output.JSON:
                _print_json({"chain_id": chain_id})
            return
        _end(_follow(client, chain_id, interval, live=output is Output.TEXT), output)


def chains(
    *,
    status: Annotated[
        ChainStatus | None, typer.Option("--status", help="Only chains in this status.")
    ] = None,
    output: OutputOption = Output.TEXT,
    insecure: InsecureOption = False,
) -> None:
    """List chains, newest first."""
    with _api(insecure=insecure) as client:
        found = client.chains(status)
    if output is Output.JSON:
        _print_json({"chains": found})
    else:
        Console(soft_wrap=True).print(chains_table(found))


def status(
    chain_id: Annotated[str, typer.Argument(metavar="CHAIN", help="The chain id.")],
    *,
    watch: Annotated[bool, typer.Option("--watch", help="Follow until the chain ends.")] = False,
    output: OutputOption = Output.TEXT,
    interval: IntervalOption = 2.0,
    insecure: InsecureOption = False,
) -> None:
    """Show a chain's stacks: state, attempts, run; with --watch, exit 1 unless it succeeds."""
    with _api(insecure=insecure) as client:
        if watch:
            _end(_follow(client, chain_id, interval, live=output is Output.TEXT), output)
            return
        chain = client.chain(chain_id)
    if output is Output.JSON:
        _print_json(chain)
    else:
        Console(soft_wrap=True).print(chain_table(chain))


def cancel(
    chain_id: Annotated[str, typer.Argument(metavar="CHAIN", help="The chain id.")],
    *,
    output: OutputOption = Output.TEXT,
    insecure: InsecureOption = False,
) -> None:
    """Cancel a chain: nothing more starts, runs in flight are stopped."""
    with _api(insecure=insecure) as client:
        answer = client.cancel(chain_id)
    if output is Output.JSON:
        _print_json(answer)
    else:
        typer.echo(f"canceling {chain_id}")


def approve(
    chain_id: Annotated[str, typer.Argument(metavar="CHAIN", help="The chain id.")],
    stack: Annotated[str, typer.Argument(help="The stack whose run waits in UNCONFIRMED.")],
    *,
    output: OutputOption = Output.TEXT,
    insecure: InsecureOption = False,
) -> None:
    """Confirm a stack's run that waits for confirmation in a chain."""
    with _api(insecure=insecure) as client:
        answer = client.approve(chain_id, stack)
    if output is Output.JSON:
        _print_json(answer)
    else:
        typer.echo(f"confirmed {stack} run {answer['run_id']} in {chain_id}")


def register(app: typer.Typer) -> None:
    """Add the operator commands to the ``stackchain`` app."""
    for command in (trigger, chains, status, cancel, approve):
        app.command()(command)
