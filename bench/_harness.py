"""A small benchmark harness: each module under ``bench/`` lists :class:`Benchmark` objects.

A module takes part by defining ``BENCHMARKS: list[Benchmark]``; ``python -m bench`` finds it.
"""

import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """A figure a benchmark measured and the limit it should keep (not a time: a rate, a ratio).

    ``at_least``: the figure must reach ``limit`` (a rate); otherwise stay at or under it.
    """

    name: str
    measured: float
    limit: float
    unit: str = ""
    at_least: bool = False

    @property
    def met(self) -> bool:
        """Whether the measured figure keeps the limit."""
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    def describe(self) -> str:
        """``name: measured (<= limit) met``, one line for the table."""
        sign = ">=" if self.at_least else "<="
        verdict = "met" if self.met else "NOT MET"
        return (
            f"{self.name}: {self.measured:.3g}{self.unit} "
            f"(target {sign} {self.limit:g}{self.unit}) {verdict}"
        )


@dataclass(frozen=True)
class Observation:
    """What a ``run`` saw besides its time: notes, and figures held against targets."""

    notes: dict[str, object]
    targets: Sequence[Target] = ()


@dataclass(frozen=True)
class Benchmark:
    """One measurement: ``prepare()`` runs once, untimed; ``run(prepared)`` is timed ``repeat``x.

    ``target_seconds`` is the budget the median must stay under (None: no budget). A ``run``
    that returns a dict reports observations (event counts, memory), one that returns an
    :class:`Observation` also figures with their own targets: the last one is kept.
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
    """The timings of one benchmark, in seconds, and the targets its last run reported."""

    name: str
    best: float
    median: float
    worst: float
    target_seconds: float | None
    notes: dict[str, object]
    targets: Sequence[Target] = ()

    @property
    def within_target(self) -> bool | None:
        """Whether the median met the budget and every target was met; None without any."""
        verdicts = [target.met for target in self.targets]
        if self.target_seconds is not None:
            verdicts.append(self.median < self.target_seconds)
        return all(verdicts) if verdicts else None


def run_once(
    name: str,
    observe: Callable[[], Coroutine[Any, Any, Observation]],
    notes: dict[str, object] | None = None,
) -> Benchmark:
    """A benchmark of whole processes: ``observe()`` runs once, on its own event loop, no warm-up.

    It starts what it measures and reports its figures as an :class:`Observation`.
    """
    return Benchmark(
        name,
        prepare=lambda: None,
        run=lambda _: asyncio.run(observe()),
        repeat=1,
        warm_up=False,
        notes=notes or {},
    )


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
    if isinstance(observed, dict):
        observed = Observation(observed)
    return Result(
        name=benchmark.name,
        best=min(timings),
        median=statistics.median(timings),
        worst=max(timings),
        target_seconds=benchmark.target_seconds,
        notes={**benchmark.notes, **(observed.notes if isinstance(observed, Observation) else {})},
        targets=observed.targets if isinstance(observed, Observation) else (),
    )


def percentile(samples: Sequence[float], pct: int) -> float:
    """The ``pct``-th percentile (1..99) of ``samples``, interpolated."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]
