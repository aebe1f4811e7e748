"""``stackchain validate``, ``plan`` and ``graph``: the dependency file from the command line.

Data goes to stdout (plain, ready to pipe); problems and summaries to stderr, in colour on a
terminal. Exit codes: 0 success, 1 invalid or failed, 2 wrong usage (typer's own).
"""

import asyncio
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from app.cli.common import Output, OutputOption, fail, settings_or_fail, stderr
from app.core.settings import Settings
from app.core.spacelift_factory import NoSpaceliftAccountError, create_spacelift_client
from app.stackfile import (
    CheckResult,
    Problem,
    Severity,
    StackFileError,
    StackGraph,
    UnknownStackError,
    check_stack_file,
    compare_with_spacelift,
    read_stack_file,
    to_dot,
    to_json,
    to_mermaid,
)
from spacelift import SpaceliftError, Stack


class GraphFormat(StrEnum):
    """How ``stackchain graph`` draws the graph."""

    MERMAID = "mermaid"
    DOT = "dot"
    JSON = "json"


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="The dependency file [default: $STACKCHAIN_CONFIG]."),
]


def _print_problems(problems: list[Problem] | tuple[Problem, ...]) -> None:
    console = stderr()
    for problem in problems:
        where = problem.file if problem.line is None else f"{problem.file}:{problem.line}"
        warning = problem.severity is Severity.WARNING
        label = ("warning: ", "bold yellow") if warning else ("error: ", "bold red")
        about = f"stack '{problem.stack}': " if problem.stack is not None else ""
        console.print(
            Text.assemble((f"{where}: ", "bold"), label, (about, "cyan"), problem.message)
        )


def _summary(file: str, problems: list[Problem]) -> str:
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    parts = [f"{errors} error{'s' * (errors != 1)}"] if errors else []
    parts += [f"{warnings} warning{'s' * (warnings != 1)}"] if warnings else []
    return f"{file}: {', '.join(parts)}"


def _check(config: Path | None) -> CheckResult:
    path = config if config is not None else settings_or_fail().config_path
    try:
        text = read_stack_file(path)
    except StackFileError as error:
        return CheckResult(None, tuple(error.problems))
    return check_stack_file(text, file=str(path))


def _load(config: Path | None) -> StackGraph:
    """The checked graph, or every problem printed and exit 1."""
    result = _check(config)
    if result.graph is None:
        _print_problems(result.problems)
        raise typer.Exit(1)
    return result.graph


async def _list_stacks(settings: Settings) -> list[Stack]:
    async with create_spacelift_client(settings) as client:
        return await client.list_stacks()


def _remote_problems(graph: StackGraph) -> list[Problem]:
    try:
        stacks = asyncio.run(_list_stacks(settings_or_fail()))
    except NoSpaceliftAccountError as error:
        raise fail(f"--remote: {error}") from None
    except SpaceliftError as error:
        raise fail(f"--remote: Spacelift did not answer: {error}") from None
    return compare_with_spacelift(graph, stacks)


def validate(
    *,
    config: ConfigOption = None,
    remote: Annotated[
        bool, typer.Option("--remote", help="Also check every stack exists in Spacelift.")
    ] = False,
    output: OutputOption = Output.TEXT,
) -> None:
    """Check the dependency file and print every problem in it."""
    result = _check(config)
    problems = list(result.problems)
    if remote and result.graph is not None:
        problems += _remote_problems(result.graph)
    failed = any(p.severity is Severity.ERROR for p in problems)
    file = result.graph.file if result.graph else (problems[0].file if problems else "")
    if output is Output.JSON:
        stacks = len(result.graph.stacks) if result.graph else None
        report = {"file": file, "valid": not failed, "stacks": stacks}
        report["problems"] = [p.to_dict() for p in problems]
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_problems(problems)
        if problems:
            stderr().print(Text(_summary(file, problems), style="bold"))
        if remote and result.graph is None:
            stderr().print("not checked against Spacelift: fix the errors above first")
        if result.graph is not None and not failed:
            checked = ", every stack found in Spacelift" if remote else ""
            edges = len(result.graph.edges)
            typer.echo(
                f"{file}: valid, {len(result.graph.stacks)} stacks, {edges} dependencies{checked}"
            )
    if failed:
        raise typer.Exit(1)


def plan(
    stack: Annotated[str, typer.Argument(help="The stack whose run starts the chain.")],
    *,
    config: ConfigOption = None,
    include_root: Annotated[
        bool, typer.Option("--include-root", help="Run STACK itself first (wave 0).")
    ] = False,
    output: OutputOption = Output.TEXT,
) -> None:
    """Print the waves a chain from STACK would run: one line per wave."""
    graph = _load(config)
    try:
        chain = graph.plan(stack, include_root=include_root)
    except UnknownStackError as error:
        raise fail(str(error)) from None
    if output is Output.JSON:
        typer.echo(json.dumps(chain.to_api()))
        return
    for number, wave in enumerate(chain.waves, start=chain.first_wave):
        typer.echo(f"{number}: {', '.join(wave)}")
    if not chain.waves:
        stderr().print(f"stack '{stack}' has no dependents: a chain from it runs nothing")
    if chain.may_skip:
        note = ", ".join(chain.may_skip)
        stderr().print(
            f"trigger: on_change, skipped when no upstream run changed resources: {note}"
        )


def graph(
    *,
    config: ConfigOption = None,
    output_format: Annotated[
        GraphFormat, typer.Option("--format", "-f", help="mermaid, dot or json.")
    ] = GraphFormat.MERMAID,
) -> None:
    """Draw the dependency graph, upstream to downstream."""
    loaded = _load(config)
    if output_format is GraphFormat.JSON:
        typer.echo(json.dumps(to_json(loaded)))
    else:
        typer.echo(
            to_mermaid(loaded) if output_format is GraphFormat.MERMAID else to_dot(loaded), nl=False
        )


def register(app: typer.Typer) -> None:
    """Add the three commands to the ``stackchain`` app."""
    app.command()(validate)
    app.command()(plan)
    app.command()(graph)
