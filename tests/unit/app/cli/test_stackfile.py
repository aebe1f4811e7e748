"""stackchain validate, plan and graph: output, exit codes, and where the file comes from."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.cli import stackfile as cli_stackfile
from app.core.settings import Settings, get_settings
from spacelift import SpaceliftError
from tests.unit.app.stackfile.stackfiles import FakeStack, yaml_of

runner = CliRunner()
DIAMOND = {
    "network": [],
    "database": ["network"],
    "storage": ["network"],
    "app": ["database", "storage"],
}


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test reads the environment anew, with no Spacelift account."""
    for name in (
        "SPACELIFT_API_KEY_ENDPOINT",
        "SPACELIFT_API_KEY_ID",
        "SPACELIFT_API_KEY_SECRET",
        "SPACELIFT_API_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "stacks.yaml"
    path.write_text(yaml_of(DIAMOND), encoding="utf-8")
    return path


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml_of({"a": ["b"], "c": ["c"]}) + "  d: {retries: -1}\n", encoding="utf-8")
    return path


def test_validate_ok(config: Path) -> None:
    """A valid file exits 0 and says how big it is."""
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 0
    assert result.stdout == f"{config}: valid, 4 stacks, 4 dependencies\n"


def test_validate_prints_every_problem_and_a_summary(broken: Path) -> None:
    """An invalid file exits 1 with every problem and a count on stderr, nothing on stdout."""
    result = runner.invoke(app, ["validate", "--config", str(broken)])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == [
        f"{broken}:4: error: stack 'a': depends_on 'b' is not a stack in this file",
        f"{broken}:6: error: stack 'c': depends on itself: c -> c",
        f"{broken}:7: error: stack 'd': retries must be 0 or more, got -1",
        f"{broken}: 3 errors",
    ]


def test_validate_json(broken: Path) -> None:
    """--output json reports validity and each problem with file, line, stack and level."""
    result = runner.invoke(app, ["validate", "--config", str(broken), "--output", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["problems"][0] == {
        "file": str(broken),
        "line": 4,
        "stack": "a",
        "message": "depends_on 'b' is not a stack in this file",
        "level": "reference",
        "severity": "error",
    }


def test_missing_file_fails_cleanly(tmp_path: Path) -> None:
    """A file that does not exist is exit 1 with the reason, not a traceback."""
    result = runner.invoke(app, ["validate", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "cannot read the file: No such file or directory" in result.stderr


def test_config_comes_from_the_environment(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --config every command reads STACKCHAIN_CONFIG."""
    monkeypatch.setenv("STACKCHAIN_CONFIG", str(config))
    assert runner.invoke(app, ["validate"]).exit_code == 0
    assert runner.invoke(app, ["plan", "network"]).stdout == "1: database, storage\n2: app\n"
    assert (
        json.loads(runner.invoke(app, ["graph", "--format", "json"]).stdout)["stacks"][0]
        == "network"
    )


def test_remote_without_account_fails(config: Path) -> None:
    """--remote with no Spacelift account configured exits 1 and says so."""
    result = runner.invoke(app, ["validate", "--config", str(config), "--remote"])
    assert result.exit_code == 1
    assert "no Spacelift account is configured" in result.stderr


def test_plan_text_and_include_root(config: Path) -> None:
    """plan prints one line per wave; --include-root adds the root as wave 0."""
    result = runner.invoke(app, ["plan", "network", "--config", str(config), "--include-root"])
    assert result.exit_code == 0
    assert result.stdout == "0: network\n1: database, storage\n2: app\n"


def test_plan_json(config: Path) -> None:
    """plan --output json is GET /api/v1/plan's shape."""
    result = runner.invoke(app, ["plan", "network", "-c", str(config), "-o", "json"])
    assert json.loads(result.stdout) == {
        "root": "network",
        "waves": [["database", "storage"], ["app"]],
        "may_skip": [],
    }


def test_plan_unknown_stack(config: Path) -> None:
    """Planning an unknown stack exits 1 with a suggestion."""
    result = runner.invoke(app, ["plan", "netwrk", "--config", str(config)])
    assert result.exit_code == 1
    assert "stack 'netwrk' is not in" in result.stderr
    assert "did you mean 'network'?" in result.stderr


def test_plan_of_invalid_file(broken: Path) -> None:
    """plan and graph refuse an invalid file with exit 1 and its problems."""
    for args in (["plan", "a"], ["graph"]):
        result = runner.invoke(app, [*args, "--config", str(broken)])
        assert result.exit_code == 1
        assert "depends on itself" in result.stderr


@pytest.mark.parametrize(
    ("fmt", "start"),
    [
        ("mermaid", "flowchart TD\n"),
        ("dot", "digraph stacks {\n"),
        ("json", '{"stacks": ["network"'),
    ],
)
def test_graph_formats(config: Path, fmt: str, start: str) -> None:
    """graph draws in each format on stdout."""
    result = runner.invoke(app, ["graph", "--config", str(config), "--format", fmt])
    assert result.exit_code == 0
    assert result.stdout.startswith(start)


@pytest.mark.parametrize(
    "args",
    [
        ["graph", "--format", "xml"],
        ["plan"],
        ["validate", "--output", "yaml"],
        ["validate", "--bogus"],
    ],
)
def test_wrong_usage_is_exit_2(args: list[str]) -> None:
    """Bad options or a missing argument are wrong usage: exit 2."""
    assert runner.invoke(app, args).exit_code == 2


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Spacelift account configured in the environment (the client itself is faked)."""
    monkeypatch.setenv("SPACELIFT_API_KEY_ENDPOINT", "https://acme.app.spacelift.io")
    monkeypatch.setenv("SPACELIFT_API_TOKEN", "t0k")


def _spacelift_has(monkeypatch: pytest.MonkeyPatch, *stacks: FakeStack) -> None:
    async def list_stacks(settings: Settings) -> list[FakeStack]:
        assert settings.spacelift_endpoint == "https://acme.app.spacelift.io"
        return list(stacks)

    monkeypatch.setattr(cli_stackfile, "_list_stacks", list_stacks)


@pytest.mark.usefixtures("account")
def test_remote_all_found_with_a_warning(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--remote passes when every stack exists; a disagreeing native dependency only warns."""
    remote = [FakeStack(name) for name in ("network", "database", "storage")]
    _spacelift_has(monkeypatch, *remote, FakeStack("app", depends_on=["network"]))
    result = runner.invoke(app, ["validate", "--config", str(config), "--remote"])
    assert result.exit_code == 0
    assert result.stdout.endswith("every stack found in Spacelift\n")
    assert f"{config}:9: warning: stack 'app': Spacelift's native dependencies" in result.stderr


@pytest.mark.usefixtures("account")
def test_remote_missing_stack(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--remote fails with exit 1 when a stack of the file is not in Spacelift."""
    _spacelift_has(monkeypatch, FakeStack("network"), FakeStack("database"), FakeStack("app"))
    result = runner.invoke(app, ["validate", "--config", str(config), "--remote", "-o", "json"])
    assert result.exit_code == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["stack"], problem["level"]) == ("storage", "remote")


@pytest.mark.usefixtures("account")
def test_remote_unreachable(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Spacelift error during --remote is exit 1 with the client's message."""

    async def list_stacks(settings: Settings) -> list[FakeStack]:  # noqa: ARG001
        raise SpaceliftError("connection refused", operation="list_stacks")

    monkeypatch.setattr(cli_stackfile, "_list_stacks", list_stacks)
    result = runner.invoke(app, ["validate", "--config", str(config), "--remote"])
    assert result.exit_code == 1
    assert "Spacelift did not answer: list_stacks: connection refused" in result.stderr
