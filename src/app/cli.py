"""The ``stackchain`` command line.

WEB_IMPORTS_ARE_LAZY: the commands that serve HTTP (``api``, ``serve``, ``sandbox``) import the web
server and the sandbox inside their bodies. Every command loads this module, and ``stackchain
worker``, a long-running process, would otherwise carry FastAPI, uvicorn and ariadne for nothing
(about 13 MB; ``tests/unit/app/test_cli_imports.py`` keeps it so).
"""

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
