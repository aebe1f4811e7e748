"""The ``stackchain`` command line: the typer app every command joins, and ``main``.

LAUNCH_IMPORTS_ARE_LAZY: the commands that start a long-running process (``serve``, ``api``,
``worker``, ``sandbox``) import ``app.launch`` inside their bodies. Every command loads this
package, and ``stackchain worker``, a long-running process, would otherwise carry FastAPI, uvicorn
and ariadne for nothing (about 13 MB; ``tests/unit/app/cli/test_imports.py`` keeps it so). The CLI
never imports ``app.web``: it reaches the web server through ``app.launch``.

A command that crashes prints its traceback without local variables (they hold tokens and keys).
"""

import typer

from app.cli import operator, processes, stackfile
from app.cli.common import check_local_files

app = typer.Typer(
    name="stackchain",
    help="Run Spacelift stacks in dependency order.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    """Run Spacelift stacks in dependency order."""
    check_local_files()


stackfile.register(app)
processes.register(app)
operator.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
