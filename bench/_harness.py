"""A small benchmark harness: each module under ``bench/`` lists :class:`Benchmark` objects.

A module takes part by defining ``BENCHMARKS: list[Benchmark]``; ``python -m bench`` finds it.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Benchmark:
    """One measurement: ``prepare()`` runs once, untimed; ``run(prepared)`` is timed ``repeat``x.

    ``target_seconds`` is the budget the median must stay under (None: no budget). A ``run``
    that returns a dict reports observations (event counts, memory): the last one is kept in
    the result's notes.
    """

    name: str
    prepare: Callable[[], Any]
    run: Callable[[Any], object]
    repeat: int = 5
    target_seconds: float | None = None
    notes: dict[str, object] = field(default_factory=dict)
    warm_up: bool = True


@dataclass(frozen=True)
class Result:
    """The timings of one benchmark, in seconds."""

    name: str
    best: float
    median: float
    worst: float
    target_seconds: float | None
    notes: dict[str, object]

    @property
    def within_target(self) -> bool | None:
        """Whether the median met the budget, or None without one."""
        return None if self.target_seconds is None else self.median < self.target_seconds


def measure(benchmark: Benchmark) -> Result:
    """Prepare once, then time every run with a monotonic high-resolution clock."""
    prepared = benchmark.prepare()
    if benchmark.warm_up:
        benchmark.run(prepared)  # imports, caches
    timings = []
    observed: object = None
    for _ in range(benchmark.repeat):
        start = time.perf_counter()
        observed = benchmark.run(prepared)
        timings.append(time.perf_counter() - start)
    return Result(
        name=benchmark.name,
        best=min(timings),
        median=statistics.median(timings),
        worst=max(timings),
        target_seconds=benchmark.target_seconds,
        notes={**benchmark.notes, **(observed if isinstance(observed, dict) else {})},
    )
