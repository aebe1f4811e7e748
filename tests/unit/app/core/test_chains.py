"""From the dependency file to the frozen input of a chain."""

from pathlib import Path

from app.core.chains import chain_input, root_planner
from app.stackfile import parse_stack_graph
from temporal.inputs import Confirm, OnFailure, StartChainRequest, Trigger

FILE = """
version: 1
chain: {max_parallel: 3, run_timeout: 30m}
defaults: {retries: 2, retry_backoff: 10s}
stacks:
  network: {}
  database: {depends_on: [network], trigger: on_change}
  cache: {depends_on: [network]}
  app: {depends_on: [database, cache], confirm: auto, on_failure: stop_chain}
  unrelated: {}
"""


def test_chain_input_keeps_order_policies_and_limits() -> None:
    """Stacks come in wave order with their resolved policies and the file's chain limits."""
    graph = parse_stack_graph(FILE)
    chain = chain_input(graph, graph.plan("network"), root_run_id="01R", spacelift_url="https://x")

    assert [stack.id for stack in chain.stacks] == ["cache", "database", "app"]
    assert chain.max_parallel == 3
    assert chain.run_timeout_seconds == 1800
    assert chain.root_run_id == "01R"
    app = chain.stacks[2]
    assert app.upstreams == ["database", "cache"]  # as the file lists them
    assert app.policy.confirm is Confirm.AUTO
    assert app.policy.on_failure is OnFailure.STOP_CHAIN
    assert app.policy.retries == 2
    assert app.policy.retry_backoff_seconds == 10
    assert chain.stacks[1].policy.trigger is Trigger.ON_CHANGE


def test_the_root_counts_as_an_upstream_when_the_chain_does_not_run_it() -> None:
    """Direct dependents of a root that is not run list it, so on_change can see its changes."""
    graph = parse_stack_graph(FILE)
    without = chain_input(graph, graph.plan("network"))
    with_root = chain_input(graph, graph.plan("network", include_root=True))

    assert {s.id: s.upstreams for s in without.stacks}["database"] == ["network"]
    assert {s.id: s.upstreams for s in with_root.stacks}["network"] == []
    assert {s.id: s.upstreams for s in with_root.stacks}["database"] == ["network"]


def test_root_planner_reads_the_file_anew_for_each_root(tmp_path: Path) -> None:
    """An edit to the file changes the next chain; stacks with nothing downstream start none."""
    path = tmp_path / "stacks.yaml"
    path.write_text(FILE)
    planner = root_planner(path, "https://acme.app.spacelift.io")
    root = StartChainRequest("network", "01R", "abc123", has_changes=False)

    first = planner(root)
    assert first is not None
    assert first.root_has_changes is False
    assert first.root_commit == "abc123"
    assert len(first.stacks) == 3

    path.write_text(FILE.replace("  unrelated: {}", "  unrelated: {depends_on: [network]}"))
    second = planner(root)
    assert second is not None
    assert len(second.stacks) == 4

    assert planner(StartChainRequest("app", "01A")) is None
    assert planner(StartChainRequest("not-in-file", "01B")) is None
