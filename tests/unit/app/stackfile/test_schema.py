"""The shipped JSON Schema and example file, and the package's public names."""

import inspect
from pathlib import Path

import app.stackfile
from app.stackfile import load_stack_graph
from app.stackfile.schema import json_schema, json_schema_text

ROOT = Path(__file__).resolve().parents[4]
CONFIG = ROOT / "config"


def test_shipped_schema_is_current() -> None:
    """config/stacks.schema.json is what the models generate (run `make schema` when this fails)."""
    assert (CONFIG / "stacks.schema.json").read_text(encoding="utf-8") == json_schema_text()


def test_schema_describes_the_file() -> None:
    """The schema forbids unknown keys, bad stack ids, and allows `network:` with nothing after."""
    schema = json_schema()
    assert schema["additionalProperties"] is False
    stacks = schema["properties"]["stacks"]
    assert stacks["additionalProperties"] is False
    [entry] = stacks["patternProperties"].values()
    assert {"type": "null"} in entry["anyOf"]
    assert schema["$defs"]["StackDefaults"]["properties"]["retry_backoff"]["default"] == "1m"


def test_example_config_is_valid_and_realistic() -> None:
    """The example validates, points editors at the schema, has 8-15 stacks and a diamond."""
    text = (CONFIG / "stacks.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=./stacks.schema.json\n")
    graph = load_stack_graph(CONFIG / "stacks.yaml")
    assert 8 <= len(graph.stacks) <= 15
    plan = graph.plan("network")
    assert "app-api" in plan.stack_ids
    assert set(plan.stack("app-api").upstreams) >= {"database", "cache"}  # the diamond's join
    assert graph.descendants("network") != graph.descendants("iam")  # independent branches


def test_public_names_are_all() -> None:
    """app.stackfile exports exactly what __all__ lists (submodules aside), each of them real."""
    public = {
        name
        for name, value in vars(app.stackfile).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set(app.stackfile.__all__)
