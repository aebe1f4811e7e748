"""/metrics' chain counts are read from Temporal at most once per few seconds, however often
it is scraped, so scraping cannot multiply the load on Temporal's visibility store."""

import asyncio
from dataclasses import dataclass, field
from typing import cast

import httpx
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Gauge

from app.core.errors import TemporalUnavailableError
from app.web.chain_counts import COUNTS_TTL, ChainCounts
from app.web.chain_service import ChainService
from temporal.inputs import ChainStatus
from tests.unit.app.launch.served import until
from tests.unit.app.web.webapp import WebApp

STATUSES = len(ChainStatus)


@dataclass
class CountingChains:
    """Counts by status, how often they were asked for, and a switch for Temporal down."""

    counts: dict[ChainStatus, int] = field(default_factory=dict)
    calls: int = 0
    down: bool = False
    gate: asyncio.Event | None = None

    async def count(self, status: ChainStatus) -> int:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            msg = "Temporal did not answer"
            raise TemporalUnavailableError(msg)
        return self.counts.get(status, 0)


def gauge() -> Gauge:
    return Gauge("chains", "by status", ["status"], registry=CollectorRegistry())


def shown(chains: Gauge, status: ChainStatus) -> float:
    return float(chains.labels(status=status.value)._value.get())


def as_service(chains: CountingChains) -> ChainService:
    """The stand-in as a ChainService: ChainCounts calls only ``count``."""
    return cast("ChainService", chains)


@given(gaps=st.lists(st.floats(0, 3 * COUNTS_TTL, allow_nan=False), min_size=1, max_size=40))
async def test_any_scrape_pattern_reads_at_most_once_per_ttl(gaps: list[float]) -> None:
    """However scrapes are spaced, Temporal is asked once per read, and a read happens only
    when the last one is at least ``ttl`` old: the same as a model of the rule."""
    now = 0.0
    chains = CountingChains()
    counts = ChainCounts(gauge(), ttl=COUNTS_TTL, clock=lambda: now)
    reads, last = 0, None
    for gap in gaps:
        now += gap
        if last is None or now - last >= COUNTS_TTL:
            reads, last = reads + 1, now
        await counts.refresh(as_service(chains))
    assert chains.calls == reads * STATUSES
    assert reads <= 1 + sum(gaps) / COUNTS_TTL


async def test_the_counts_shown_are_the_last_read() -> None:
    """Within the ttl a scrape shows the counts last read, after it the new ones."""
    now = 0.0
    chains = CountingChains({ChainStatus.RUNNING: 3})
    chains_gauge = gauge()
    counts = ChainCounts(chains_gauge, ttl=5.0, clock=lambda: now)
    await counts.refresh(as_service(chains))
    chains.counts[ChainStatus.RUNNING] = 7
    now = 4.9
    await counts.refresh(as_service(chains))
    assert shown(chains_gauge, ChainStatus.RUNNING) == 3
    now = 5.0
    await counts.refresh(as_service(chains))
    assert shown(chains_gauge, ChainStatus.RUNNING) == 7


async def test_concurrent_scrapes_share_one_read() -> None:
    """Ten scrapes at once while a read is in flight make one read, not ten."""
    gate = asyncio.Event()
    chains = CountingChains(gate=gate)
    counts = ChainCounts(gauge(), ttl=5.0, clock=lambda: 0.0)
    scrapes = [asyncio.create_task(counts.refresh(as_service(chains))) for _ in range(10)]
    await until(lambda: chains.calls == STATUSES)
    gate.set()
    await asyncio.gather(*scrapes)
    assert chains.calls == STATUSES


async def test_temporal_down_keeps_the_counts_and_waits_the_ttl() -> None:
    """A failed read leaves the counts as they were, and is not retried by every scrape."""
    now = 0.0
    chains = CountingChains({ChainStatus.FAILED: 2})
    chains_gauge = gauge()
    counts = ChainCounts(chains_gauge, ttl=5.0, clock=lambda: now)
    await counts.refresh(as_service(chains))
    chains.down, now = True, 10.0
    await counts.refresh(as_service(chains))
    await counts.refresh(as_service(chains))
    assert shown(chains_gauge, ChainStatus.FAILED) == 2
    assert chains.calls == 2 * STATUSES


async def test_scraping_the_app_twice_asks_temporal_once(
    web: WebApp, client: httpx.AsyncClient
) -> None:
    """Through /metrics: two scrapes in a row make one count call per status."""
    asked: list[ChainStatus] = []
    real = web.chains.count

    async def count(status: ChainStatus) -> int:
        asked.append(status)
        return await real(status)

    web.chains.count = count  # type: ignore[method-assign]
    first = await client.get("/metrics")
    second = await client.get("/metrics")
    assert (first.status_code, second.status_code) == (200, 200)
    assert sorted(asked) == sorted(ChainStatus)
    assert 'stackchain_chains{status="running"} 1.0' in second.text
