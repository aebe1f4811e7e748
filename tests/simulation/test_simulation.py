"""Fault simulation: the engine's promises hold over many seeded interleavings of faults.

Each seed draws a small dependency graph, policies, how runs end and a fault plan over a few
seconds (webhooks lost, duplicated, delayed or reordered; lost trigger answers and transient
Spacelift errors; people triggering, confirming, discarding and stopping runs; operators
cancelling and approving; manual chains; worker restarts; continue-as-new forced early). The
real engine runs it on the session's Temporal dev server against the sandbox's run model, and
the seven invariants of ``invariants.py`` are checked at the end.

The fault plan is a pure function of the seed; real timing is not (when a planned fault lands
relative to the engine's progress depends on the machine), so a replay re-runs the same plan
and usually, not always, the same interleaving. Every failure prints its seed and the command
that replays it.
"""

import os

import pytest
from temporalio.client import Client

from tests.simulation.runner import (
    DEFAULT_CONCURRENCY,
    DEFAULT_SEEDS,
    continue_as_new_after,
    env_float,
    env_int,
    run_for,
    run_seed,
    run_seeds,
    summary,
)
from tests.simulation.scenario import draw

pytestmark = pytest.mark.simulation
SOAK_MINUTES = env_float("STACKCHAIN_SIM_MINUTES", 0.0)


@pytest.mark.timeout(600)
@pytest.mark.skipif(SOAK_MINUTES > 0, reason="STACKCHAIN_SIM_MINUTES runs the soak instead")
async def test_bounded_seeds_keep_every_invariant(temporal_client: Client) -> None:
    """Seeds 1..STACKCHAIN_SIM_SEEDS (default 200) each end with all seven invariants held."""
    seeds = list(range(1, env_int("STACKCHAIN_SIM_SEEDS", DEFAULT_SEEDS) + 1))
    concurrency = env_int("STACKCHAIN_SIM_CONCURRENCY", DEFAULT_CONCURRENCY)
    reports = await run_seeds(temporal_client, seeds, concurrency)

    assert len(reports) == len(seeds)
    assert not any(r.violations or r.error for r in reports), summary(reports)


@pytest.mark.skipif("STACKCHAIN_SIM_SEED" not in os.environ, reason="set STACKCHAIN_SIM_SEED")
async def test_replay_one_seed(temporal_client: Client) -> None:
    """The seed STACKCHAIN_SIM_SEED keeps every invariant (a failure's replay command)."""
    seed = int(os.environ["STACKCHAIN_SIM_SEED"])
    with continue_as_new_after(draw(seed).continue_as_new_after):
        report = await run_seed(temporal_client, seed)
    print(f"seed {seed}: {report.seconds:.1f}s")  # noqa: T201 - the replay's own report

    assert not report.violations, report.describe()
    assert report.error is None, report.describe()


@pytest.mark.timeout(SOAK_MINUTES * 60 + 600)
@pytest.mark.skipif(SOAK_MINUTES <= 0, reason="set STACKCHAIN_SIM_MINUTES (make soak)")
async def test_soak_fresh_seeds_for_minutes(temporal_client: Client) -> None:
    """Fresh seeds for STACKCHAIN_SIM_MINUTES each keep every invariant."""
    concurrency = env_int("STACKCHAIN_SIM_CONCURRENCY", DEFAULT_CONCURRENCY)
    reports = await run_for(temporal_client, SOAK_MINUTES, concurrency)

    assert reports
    assert not any(r.violations or r.error for r in reports), summary(reports)
