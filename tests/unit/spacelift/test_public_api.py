import subprocess
import sys

import spacelift
from spacelift import errors


def test_all_lists_exactly_the_public_names() -> None:
    """__all__ names every public object of the package, and each one exists."""
    public = {name for name in dir(spacelift) if not name.startswith("_")}
    modules = {"errors", "models", "sandbox"}  # sandbox: there once anything imported it
    assert set(spacelift.__all__) == public - modules
    assert sorted(spacelift.__all__) == spacelift.__all__


def test_every_error_is_exported() -> None:
    """Each error class of spacelift.errors is importable from spacelift."""
    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }
    assert classes <= set(spacelift.__all__)


def test_imports_neither_web_nor_temporal() -> None:
    """Importing spacelift loads no FastAPI, temporalio, app or temporal module."""
    probe = (
        "import sys, spacelift; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "{'fastapi', 'starlette', 'temporalio', 'app', 'temporal'}]; "
        "print(','.join(bad))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
