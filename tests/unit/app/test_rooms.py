"""The rooms of ``app`` import one way: stackfile <- core <- web <- launch <- cli.

The web server and the CLI never import each other; the CLI reaches the web server only through
``app.launch``, and imports that inside its commands (LAUNCH_IMPORTS_ARE_LAZY in ``app.cli``).
Imports inside functions count as much as those at the top of a module.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import app

SRC = Path(app.__file__).parent

MAY_IMPORT = {
    "stackfile": {"stackfile"},
    "core": {"core", "stackfile"},
    "web": {"web", "core", "stackfile"},
    "launch": {"launch", "web", "core", "stackfile"},
    "cli": {"cli", "launch", "core", "stackfile"},
    "": {"cli"},  # app/__init__.py and app/__main__.py (python -m app)
}
"""Which rooms each room may import; ``""`` is the package's own top-level modules."""

TOP_LEVEL = {"__init__.py", "__main__.py"}


@dataclass(frozen=True)
class Import:
    """One ``app.*`` import of a module: what it names, where, and whether a function holds it."""

    target: str
    line: int
    in_function: bool


def _room(path: Path) -> str:
    """The room a module under ``src/app`` belongs to (``""`` for the package's own files)."""
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else ""


def _package(path: Path) -> str:
    """The dotted package that holds the module, for relative imports."""
    parts = ("app", *path.relative_to(SRC).parts[:-1])
    return ".".join(parts)


def _imported(path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names one import statement reaches, relative ones resolved from ``path``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = _package(path).split(".")
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    # `from app import web` names a room; `from app.web import x` is inside the room already
    return [f"{base}.{alias.name}" for alias in node.names] if base == "app" else [base]


def _app_imports(path: Path, source: str) -> list[Import]:
    """Every ``app.*`` import in ``source``, at the top level and inside functions."""
    found: list[Import] = []

    def visit(node: ast.AST, *, in_function: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.extend(
                Import(name, node.lineno, in_function)
                for name in _imported(path, node)
                if name == "app" or name.startswith("app.")
            )
        inside = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            visit(child, in_function=inside)

    visit(ast.parse(source, filename=str(path)), in_function=False)
    return found


def _target_room(target: str) -> str:
    parts = target.split(".")
    return parts[1] if len(parts) > 1 else ""


def violations(path: Path, source: str) -> list[str]:
    """What in one module breaks the rooms' direction, each naming the module, line and import."""
    room = _room(path)
    where = f"src/app/{path.relative_to(SRC).as_posix()}"
    if room not in MAY_IMPORT:
        return [f"{where} is in no room: put it under one of {sorted(set(MAY_IMPORT) - {''})}"]
    if not room and path.name not in TOP_LEVEL:
        return [f"{where} sits beside the rooms: move it into one of them"]
    wrong: list[str] = []
    for found in _app_imports(path, source):
        target = _target_room(found.target)
        if target not in MAY_IMPORT[room]:
            allowed = ", ".join(sorted(MAY_IMPORT[room])) or "nothing"
            wrong.append(
                f"{where}:{found.line} imports {found.target}: "
                f"{room or 'the app package'} may import only {allowed}"
            )
        elif room == "cli" and target == "launch" and not found.in_function:
            wrong.append(
                f"{where}:{found.line} imports {found.target} at module level: the CLI imports "
                "app.launch inside its commands (LAUNCH_IMPORTS_ARE_LAZY)"
            )
    return wrong


def test_every_room_imports_only_the_rooms_below_it() -> None:
    """stackfile imports no room; core only stackfile; web core; launch web; cli launch, not web."""
    modules = sorted(SRC.rglob("*.py"))
    assert len(modules) > 50  # the walk found the package
    wrong = [line for path in modules for line in violations(path, path.read_text())]
    assert not wrong, "imports against the rooms' direction:\n" + "\n".join(wrong)


def test_the_check_sees_a_wrong_import_inside_a_function() -> None:
    """The check can fail: the web server importing the CLI, even lazily, is named with its line."""
    source = "import typer\n\n\ndef handler() -> None:\n    from app.cli.common import fail\n"
    assert violations(SRC / "web" / "example.py", source) == [
        "src/app/web/example.py:5 imports app.cli.common: web may import only core, stackfile, web"
    ]


def test_the_check_sees_a_room_imported_by_name_and_an_eager_launch() -> None:
    """``from app import web`` counts as importing the web room; the CLI must load launch lazily."""
    assert violations(SRC / "core" / "example.py", "from app import web\n") == [
        "src/app/core/example.py:1 imports app.web: core may import only core, stackfile"
    ]
    eager = (
        "src/app/cli/example.py:1 imports app.launch.api at module level: the CLI imports "
        "app.launch inside its commands (LAUNCH_IMPORTS_ARE_LAZY)"
    )
    assert violations(SRC / "cli" / "example.py", "from app.launch.api import build_api\n") == [
        eager
    ]
