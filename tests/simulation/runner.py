"""Running many seeds on one dev server: several at once, each on its own task queue and worker.

``CONTINUE_AS_NEW_AFTER_EVENTS`` is a module global of the workflows (passed through the
workflow sandbox), so seeds that force continue-as-new early run in cohorts that share the value.
Knobs: ``STACKCHAIN_SIM_SEEDS`` (how many, from seed 1), ``STACKCHAIN_SIM_SEED`` (one seed),
``STACKCHAIN_SIM_MINUTES`` (fresh seeds until the time is up), ``STACKCHAIN_SIM_CONCURRENCY``.
"""

import asyncio
import os
import secrets
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count, groupby

import pytest
from temporalio.client import Client

from temporal.workflows import chain, lane
from tests.simulation.evidence import Violation
from tests.simulation.harness import SeedRun
from tests.simulation.invariants import check_all
from tests.simulation.scenario import draw

REPLAY = "STACKCHAIN_SIM_SEED={seed} .venv/bin/pytest tests/simulation -k replay"
DEFAULT_SEEDS = 200
DEFAULT_CONCURRENCY = 16


@dataclass
class SeedReport:
    """How one seed went."""

    seed: int
    seconds: float
    violations: list[Violation] = field(default_factory=list)
    error: str | None = None

    def describe(self) -> str:
        lines = [f"seed {self.seed}: {v.invariant}: {v.evidence}" for v in self.violations]
        if self.error:
            lines.append(f"seed {self.seed}: the harness failed: {self.error}")
        lines.append(f"  replay: {REPLAY.format(seed=self.seed)}")
        return "\n".join(lines)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    return float(value) if value.strip() else default


@contextmanager
def continue_as_new_after(events: int | None) -> Iterator[None]:
    """Make lanes and chains continue as new after ``events`` history events (None: as built)."""
    with pytest.MonkeyPatch.context() as patch:
        if events is not None:
            patch.setattr(lane, "CONTINUE_AS_NEW_AFTER_EVENTS", events)
            patch.setattr(chain, "CONTINUE_AS_NEW_AFTER_EVENTS", events)
        yield


async def run_seed(client: Client, seed: int) -> SeedReport:
    """Play one seed and judge it (the caller has patched continue-as-new)."""
    started = time.monotonic()
    try:
        evidence = await SeedRun(draw(seed), client).run()
    except Exception:  # noqa: BLE001 - reported with the seed, not lost
        error = traceback.format_exc(limit=6)
        return SeedReport(seed, time.monotonic() - started, error=error)
    return SeedReport(seed, time.monotonic() - started, check_all(evidence))


async def run_seeds(client: Client, seeds: list[int], concurrency: int) -> list[SeedReport]:
    """Every seed, ``concurrency`` at a time, cohort by cohort of continue-as-new setting."""
    limit = asyncio.Semaphore(concurrency)

    async def one(seed: int) -> SeedReport:
        async with limit:
            return await run_seed(client, seed)

    def setting(seed: int) -> int:
        return draw(seed).continue_as_new_after or 0

    reports: list[SeedReport] = []
    for events, cohort in groupby(sorted(seeds, key=setting), key=setting):
        with continue_as_new_after(events or None):
            reports += await asyncio.gather(*(one(seed) for seed in cohort))
    return reports


async def run_for(client: Client, minutes: float, concurrency: int) -> list[SeedReport]:
    """Fresh seeds, batch after batch, until ``minutes`` have passed."""
    end = time.monotonic() + minutes * 60
    fresh = count(secrets.randbelow(2**31))
    reports: list[SeedReport] = []
    while time.monotonic() < end:
        batch = [next(fresh) for _ in range(concurrency * 3)]
        reports += await run_seeds(client, batch, concurrency)
    return reports


def summary(reports: list[SeedReport]) -> str:
    """The failures with their replay commands, or an all-clear line."""
    failed = [report for report in reports if report.violations or report.error]
    head = f"{len(reports)} seeds, {len(failed)} failed"
    return "\n".join([head, *(report.describe() for report in failed)])
