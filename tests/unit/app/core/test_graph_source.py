"""The web server's view of the dependency file: parsed once per change on disk."""

from pathlib import Path

import pytest

from app.core import graph_source
from app.core.errors import UnavailableError
from app.core.graph_source import GraphSource
from app.stackfile import load_stack_graph

FILE = "version: 1\nstacks:\n  network: {}\n  app: {depends_on: [network]}\n"


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every parse of the file, recorded."""
    seen: list[Path] = []
    real = load_stack_graph

    def counting(path: Path) -> object:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(graph_source, "load_stack_graph", counting)
    return seen


def test_an_unchanged_file_is_parsed_once(tmp_path: Path, loads: list[Path]) -> None:
    """Many requests, one parse; an edit is picked up by the next request."""
    path = tmp_path / "stacks.yaml"
    path.write_text(FILE)
    graphs = GraphSource(path)
    for _ in range(5):
        assert graphs.graph().stacks == ("network", "app")
    assert len(loads) == 1
    path.write_text(FILE + "  web: {depends_on: [app]}\n")
    assert graphs.graph().stacks == ("network", "app", "web")
    assert len(loads) == 2


def test_a_missing_file_is_not_read_again_until_it_appears(
    tmp_path: Path, loads: list[Path]
) -> None:
    """While the file is missing every request gets 503 without another read; then it loads."""
    path = tmp_path / "stacks.yaml"
    graphs = GraphSource(path)
    for _ in range(3):
        with pytest.raises(UnavailableError):
            graphs.graph()
    assert len(loads) == 1
    path.write_text(FILE)
    assert graphs.graph().stacks == ("network", "app")
    assert len(loads) == 2
