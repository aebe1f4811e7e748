"""The drawings (JSON, Mermaid, DOT) and the comparison with Spacelift's own stacks."""

from app.stackfile import (
    Level,
    Severity,
    compare_with_spacelift,
    parse_stack_graph,
    to_dot,
    to_json,
    to_mermaid,
)
from tests.unit.app.stackfile.stackfiles import FakeStack, graph_of

GRAPH = {"network": [], "database": ["network"], "app-api": ["database"], "end": ["app-api"]}


def test_json_is_the_api_shape() -> None:
    """JSON lists stacks in file order and edges as [upstream, downstream]."""
    assert to_json(graph_of(GRAPH)) == {
        "stacks": ["network", "database", "app-api", "end"],
        "edges": [["network", "database"], ["database", "app-api"], ["app-api", "end"]],
    }


def test_mermaid_ids_are_safe_and_labels_exact() -> None:
    """Mermaid gets a flowchart with safe node ids (no '-', no keyword 'end') and exact labels."""
    assert to_mermaid(graph_of(GRAPH)) == (
        "flowchart TD\n"
        '    network["network"]\n'
        '    database["database"]\n'
        '    app_api["app-api"]\n'
        '    s_end["end"]\n'
        "    network --> database\n"
        "    database --> app_api\n"
        "    app_api --> s_end\n"
    )


def test_mermaid_ids_never_collide() -> None:
    """Two ids that sanitise alike still get distinct Mermaid nodes."""
    text = to_mermaid(graph_of({"a-b": [], "a_b": ["a-b"]}))
    assert 'a_b["a-b"]' in text
    assert 'a_b_2["a_b"]' in text
    assert "a_b --> a_b_2" in text


def test_mermaid_and_dot_mark_on_change() -> None:
    """Stacks with trigger: on_change are drawn dashed in both drawings."""
    graph = parse_stack_graph(
        "version: 1\nstacks:\n  a: {}\n  b: {depends_on: [a], trigger: on_change}\n"
    )
    assert "class b onChange" in to_mermaid(graph)
    assert '"b" [style=dashed];' in to_dot(graph)


def test_dot() -> None:
    """DOT is a digraph with every stack quoted and edges upstream -> downstream."""
    text = to_dot(graph_of({"a": [], "b": ["a"]}))
    assert text.startswith("digraph stacks {\n")
    assert '    "a";\n' in text
    assert '    "a" -> "b";\n' in text
    assert text.endswith("}\n")


def test_missing_stack_is_an_error_at_its_line() -> None:
    """A stack of the file that Spacelift lacks is an error at its key, with a suggestion."""
    graph = graph_of({"network": [], "database": ["network"]})
    [problem] = compare_with_spacelift(graph, [FakeStack("network"), FakeStack("databse")])
    assert (
        str(problem)
        == "t.yaml:5: stack 'database': does not exist in Spacelift (did you mean 'databse'?)"
    )
    assert (problem.level, problem.severity) == (Level.REMOTE, Severity.ERROR)


def test_disagreeing_native_dependencies_warn() -> None:
    """Native dependencies that differ from depends_on are a warning naming both sides."""
    graph = graph_of({"network": [], "iam": [], "database": ["network"]})
    remote = [FakeStack("network"), FakeStack("iam"), FakeStack("database", depends_on=["iam"])]
    [problem] = compare_with_spacelift(graph, remote)
    assert problem.severity is Severity.WARNING
    assert problem.message == (
        "Spacelift's native dependencies disagree with depends_on "
        "(only in Spacelift: iam; only in the file: network)"
    )


def test_disagreeing_labels_warn() -> None:
    """depends-on:<id> labels that differ from depends_on are a warning too."""
    graph = graph_of({"network": [], "database": ["network"]})
    remote = [FakeStack("network"), FakeStack("database", labels=["team:db", "depends-on:vpc"])]
    [problem] = compare_with_spacelift(graph, remote)
    assert "depends-on labels disagree" in problem.message
    assert str(problem).startswith("t.yaml:5: warning: stack 'database': ")


def test_agreement_and_absence_say_nothing() -> None:
    """Matching dependencies, or none declared in Spacelift, give no problem."""
    graph = graph_of({"network": [], "database": ["network"], "cache": ["network"]})
    remote = [
        FakeStack("network"),
        FakeStack("database", depends_on=["network"], labels=["depends-on:network"]),
        FakeStack("cache"),
        FakeStack("not-in-the-file"),
    ]
    assert compare_with_spacelift(graph, remote) == []
