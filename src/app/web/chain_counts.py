"""The chain counts ``/metrics`` shows, read from Temporal at most once per few seconds.

Each read is one count call per chain status. Without a cache every scrape would make them all, so
whoever can scrape could multiply the load on Temporal's visibility store; with it, scrapes within
``ttl`` seconds of a read (or of a failed one) show the counts last read.
"""

import asyncio
import time
from collections.abc import Callable

from prometheus_client import Gauge

from app.core.errors import TemporalUnavailableError
from app.web.chain_service import ChainService
from temporal.inputs import ChainStatus

COUNTS_TTL = 5.0
"""Seconds a read of the chain counts serves later scrapes."""


class ChainCounts:
    """Sets ``gauge`` (chains by status) from Temporal, at most once per ``ttl`` of ``clock``."""

    def __init__(
        self,
        gauge: Gauge,
        *,
        ttl: float = COUNTS_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gauge = gauge
        self._ttl = ttl
        self._clock = clock
        self._read_at: float | None = None
        self._lock = asyncio.Lock()  # concurrent scrapes share one read

    async def refresh(self, chains: ChainService) -> None:
        """Read the counts unless read within ``ttl``; a count Temporal cannot give stays as is."""
        async with self._lock:
            now = self._clock()
            if self._read_at is not None and now - self._read_at < self._ttl:
                return
            self._read_at = now
            counts = await asyncio.gather(
                *(chains.count(status) for status in ChainStatus), return_exceptions=True
            )
            for status, count in zip(ChainStatus, counts, strict=True):
                if isinstance(count, TemporalUnavailableError):
                    continue
                if isinstance(count, BaseException):
                    raise count
                self._gauge.labels(status=status.value).set(count)
