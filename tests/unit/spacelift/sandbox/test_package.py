"""The sandbox package's boundaries: its public names, and what it may import."""

import subprocess
import sys

import spacelift.sandbox


def test_public_names_are_what_all_says() -> None:
    """Every name in __all__ exists, and every public class or function is in __all__."""
    public = {
        name
        for name, value in vars(spacelift.sandbox).items()
        if not name.startswith("_") and (callable(value) or name.isupper())
    }
    assert public == set(spacelift.sandbox.__all__)


def test_the_sandbox_imports_neither_fastapi_nor_temporal_nor_the_app() -> None:
    """Imports go app -> temporal -> spacelift: the sandbox pulls in none of the layers above."""
    code = (
        "import sys, spacelift.sandbox\n"
        "banned = ('fastapi', 'temporalio', 'app', 'temporal')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in banned))\n"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
