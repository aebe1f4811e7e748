"""Validate and plan generated dependency files, timed from YAML text to the plan."""

import random

from app.stackfile import StackGraph, parse_stack_graph
from bench._harness import Benchmark

EDGES_PER_STACK = 3


def generate_stack_file(count: int, *, seed: int = 7) -> str:
    """A valid file of ``count`` stacks and exactly ``3 * count`` edges (count >= 7).

    Stack ``i`` depends on three random stacks before it, so the file is a DAG; the three
    edges the first stacks cannot have (they have fewer than three before them) are made up by a
    fourth dependency of some later stacks.
    """
    rng = random.Random(seed)
    names = [f"stack-{index:05d}" for index in range(count)]
    deps = [rng.sample(names[:index], min(EDGES_PER_STACK, index)) for index in range(count)]
    missing = EDGES_PER_STACK * count - sum(len(upstreams) for upstreams in deps)
    for index in rng.sample(range(EDGES_PER_STACK + 1, count), missing):
        deps[index].append(rng.choice([n for n in names[:index] if n not in deps[index]]))
    lines = ["version: 1", "chain: {max_parallel: 8, run_timeout: 2h}", "stacks:"]
    for name, upstreams in zip(names, deps, strict=True):
        lines.append(f"  {name}:")
        if upstreams:
            lines.append(f"    depends_on: [{', '.join(upstreams)}]")
    return "\n".join(lines) + "\n"


def validate_and_plan(text: str) -> StackGraph:
    """What starting a chain costs: parse, every check, the graph, the plan of the first stack."""
    graph = parse_stack_graph(text, file="generated.yaml")
    graph.plan(graph.stacks[0])
    return graph


def _plan_only(graph: StackGraph) -> object:
    return graph.plan(graph.stacks[0])


def _cases(count: int, target_seconds: float) -> list[Benchmark]:
    notes: dict[str, object] = {"stacks": count, "edges": EDGES_PER_STACK * count}
    text = generate_stack_file(count)
    return [
        Benchmark(
            f"validate+plan, {count:,} stacks",
            prepare=lambda: text,
            run=validate_and_plan,
            target_seconds=target_seconds,
            notes=notes,
        ),
        Benchmark(
            f"plan only, {count:,} stacks",
            prepare=lambda: parse_stack_graph(text),
            run=_plan_only,
            notes=notes,
        ),
    ]


BENCHMARKS = [*_cases(1_000, 0.1), *_cases(10_000, 1.0)]
