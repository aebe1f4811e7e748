"""Webhook intake against the raw Temporal SDK, side by side on the same dev server.

The API (``python -m app api``) runs under uvicorn in its own process; the engine's worker runs
in another (``bench._engine``), so lanes are running and consume what they are sent. From this
process two load generators send the same kind of event, with the same bounded concurrency, to
the same lanes, in alternating rounds:

- raw: ``temporal.client.deliver_run_event`` (signal-with-start, as the API does), no HTTP;
- intake: signed ``POST /webhooks/spacelift`` bodies over keep-alive loopback connections.

The HTTP load generator is aiohttp, not httpx: with 32 connections httpx's pool spent more CPU
per request in this process than the API spent answering it (py-spy: 2,450 samples in
``httpx.AsyncClient.post`` against 1,590 in the whole API process), so on two cores the figure
measured the client.

The API's own CPU time per webhook (from ``/proc``) is reported too: it moves less with the
machine's load than the rates do (about 5% between runs against 10 to 20%), so it is the figure
to compare changes to the API by.

Every event has its own (run id, stateVersion), so the API's duplicate filter never answers for
Temporal. The runs are unknown to the lanes and not FINISHED, so lanes drop them at once: the
figure is the intake path, not chain work. Bodies and signatures are made before the clock starts.
"""

import asyncio
import itertools
import json
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path

import aiohttp
from temporalio.client import Client
from tests.integration.conftest import free_port

from bench._harness import Observation, Target, percentile, run_once
from bench._procs import child, cpu_seconds, http_ready, wait_for
from spacelift.sandbox.payloads import signature_headers
from temporal.client import connect, deliver_run_event
from temporal.devserver import DevServer
from temporal.inputs import RunEvent

LANES = 100
CONCURRENCY = 32
EVENTS_PER_ROUND = 1_500
ROUNDS = 2
SECRET = "bench-intake-secret"  # noqa: S105 - a throwaway secret for loopback
POLL_INTERVAL = timedelta(seconds=60)  # the API's default STACKCHAIN_POLL_INTERVAL

Call = Callable[[], Awaitable[None]]


async def drive(calls: list[Call], concurrency: int) -> tuple[float, list[float]]:
    """Run ``calls`` with at most ``concurrency`` in flight; (elapsed s, each call's latency s)."""
    pending = iter(calls)
    latencies: list[float] = []

    async def sender() -> None:
        for call in pending:
            start = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies


class Events:
    """Fresh run events, spread over the lanes, each with its own run id."""

    def __init__(self) -> None:
        self._ids = itertools.count()
        self.now = int(time.time())

    def next(self) -> tuple[str, str]:
        """(stack id, run id) of the next event."""
        number = next(self._ids)
        return f"s{number % LANES}", f"bench-run-{number:07d}"

    def body(self, stack_id: str, run_id: str) -> bytes:
        """A default-shape webhook body for a run in PLANNING."""
        return json.dumps(
            {
                "account": "bench",
                "state": "PLANNING",
                "stateVersion": 3,
                "timestamp": self.now,
                "run": {"id": run_id, "type": "TRACKED", "createdAt": self.now},
                "stack": {"id": stack_id},
            }
        ).encode()


def raw_calls(client: Client, task_queue: str, events: Events, count: int) -> list[Call]:
    """Signal-with-start calls straight to the lanes, as the API would make them."""

    def make(stack_id: str, run_id: str) -> Call:
        event = RunEvent(stack_id=stack_id, run_id=run_id, state="PLANNING", state_version=3)
        return lambda: deliver_run_event(
            client, event, task_queue=task_queue, poll_interval=POLL_INTERVAL
        )

    return [make(*events.next()) for _ in range(count)]


def webhook_calls(http: aiohttp.ClientSession, events: Events, count: int) -> list[Call]:
    """Signed webhook deliveries; each must be answered 202."""

    def make(stack_id: str, run_id: str) -> Call:
        body = events.body(stack_id, run_id)
        headers = {"Content-Type": "application/json", **signature_headers(SECRET, body)}

        async def post() -> None:
            async with http.post("/webhooks/spacelift", data=body, headers=headers) as answer:
                text = await answer.text()
            if answer.status != HTTPStatus.ACCEPTED:
                msg = f"webhook answered {answer.status}: {text}"
                raise RuntimeError(msg)

        return post

    return [make(*events.next()) for _ in range(count)]


def _stack_file(folder: Path) -> Path:
    path = folder / "stacks.yaml"
    lines = ["version: 1", "stacks:", *(f"  s{index}: {{}}" for index in range(LANES))]
    path.write_text("\n".join(lines) + "\n")
    return path


async def measure_intake() -> Observation:
    """Alternate raw and intake rounds on one dev server; compare rates and latencies."""
    task_queue = f"bench-intake-{uuid.uuid4().hex[:8]}"
    api_port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        api_env = {
            "STACKCHAIN_CONFIG": str(_stack_file(Path(folder))),
            "STACKCHAIN_TASK_QUEUE": task_queue,
            "STACKCHAIN_WEBHOOK_SECRET": SECRET,
        }
        async with DevServer(Path(":memory:"), port=free_port(), ui_port=None) as server:
            api_env["TEMPORAL_ADDRESS"] = server.address
            client = await connect(server.address)
            worker_args = ("-m", "bench._engine", server.address, task_queue)
            api_args = ("-m", "app", "api", "--port", str(api_port))
            async with (
                child("intake-worker", *worker_args, ready_line="ready"),
                child("intake-api", *api_args, env=api_env) as api,
            ):
                url = f"http://127.0.0.1:{api_port}"
                await wait_for(lambda: http_ready(f"{url}/readyz"), within=60, what="API ready")
                async with aiohttp.ClientSession(
                    base_url=url,
                    connector=aiohttp.TCPConnector(limit=CONCURRENCY),
                    timeout=aiohttp.ClientTimeout(total=30),
                ) as http:
                    return await _rounds(client, task_queue, http, api.pid)


async def _rounds(
    client: Client, task_queue: str, http: aiohttp.ClientSession, api_pid: int
) -> Observation:
    events = Events()
    # Warm-up: every lane started and every connection open, through both paths.
    await drive(raw_calls(client, task_queue, events, LANES), CONCURRENCY)
    await drive(webhook_calls(http, events, 2 * LANES), CONCURRENCY)
    raw: tuple[float, list[float]] = (0.0, [])
    intake: tuple[float, list[float]] = (0.0, [])
    api_cpu = 0.0
    for _ in range(ROUNDS):
        took, latencies = await drive(
            raw_calls(client, task_queue, events, EVENTS_PER_ROUND), CONCURRENCY
        )
        raw = (raw[0] + took, raw[1] + latencies)
        calls = webhook_calls(http, events, EVENTS_PER_ROUND)
        cpu_before = cpu_seconds(api_pid)
        took, latencies = await drive(calls, CONCURRENCY)
        api_cpu += cpu_seconds(api_pid) - cpu_before
        intake = (intake[0] + took, intake[1] + latencies)
    return _observation(raw, intake, api_cpu)


def _observation(
    raw: tuple[float, list[float]], intake: tuple[float, list[float]], api_cpu: float
) -> Observation:
    raw_rate, intake_rate = len(raw[1]) / raw[0], len(intake[1]) / intake[0]
    raw_p99, intake_p99 = percentile(raw[1], 99), percentile(intake[1], 99)
    notes: dict[str, object] = {
        "events_per_path": len(raw[1]),
        "concurrency": CONCURRENCY,
        "lanes": LANES,
        "raw_per_s": round(raw_rate),
        "intake_per_s": round(intake_rate),
        "raw_p50_ms": round(percentile(raw[1], 50) * 1000, 1),
        "raw_p99_ms": round(raw_p99 * 1000, 1),
        "intake_p50_ms": round(percentile(intake[1], 50) * 1000, 1),
        "intake_p99_ms": round(intake_p99 * 1000, 1),
        "api_cpu_ms_per_webhook": round(api_cpu / len(intake[1]) * 1000, 2),
    }
    targets = [
        Target("intake rate / raw signal rate", intake_rate / raw_rate, 0.8, at_least=True),
        Target("intake p99 / raw signal p99", intake_p99 / raw_p99, 2.0),
    ]
    return Observation(notes, targets)


BENCHMARKS = [run_once(f"webhook intake vs raw signals ({CONCURRENCY} in flight)", measure_intake)]
