"""The ``stackchain`` command line."""

import typer

from app import cli_api, cli_runtime, cli_stackfile

app = typer.Typer(
    name="stackchain",
    help="Run Spacelift stacks in dependency order.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Run Spacelift stacks in dependency order."""


cli_stackfile.register(app)
cli_runtime.register(app)
cli_api.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
