"""The CLI loads no web server: ``stackchain worker`` runs for days on what it imports."""

import subprocess
import sys

WEB_MODULES = ("fastapi", "starlette", "uvicorn", "ariadne")


def _web_modules_after(imports: str) -> set[str]:
    """The web modules a fresh interpreter has loaded after ``import {imports}``."""
    probe = f"import sys, {imports}; print(*(m for m in {WEB_MODULES!r} if m in sys.modules))"
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed program
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_loading_the_cli_loads_no_web_server_or_sandbox() -> None:
    """Only ``api``, ``serve`` and ``sandbox`` import them, when they run."""
    assert _web_modules_after("app.cli") == set()


def test_the_probe_sees_the_web_server_when_it_is_loaded() -> None:
    """The check above can fail: the web app imported beside the CLI shows up."""
    assert {"fastapi", "uvicorn"} <= _web_modules_after("app.cli, app.launch.api")


def test_the_worker_process_loads_no_web_server_or_sandbox() -> None:
    """``stackchain worker`` imports its launch module when it runs, and that stays free of them."""
    assert _web_modules_after("app.cli, app.launch.worker") == set()
