"""The public surface under the issue's attacks (#14, items 1 and 4): memory and open connections.

Each attack gets a fresh API process (``python -m app api``, the launcher's uvicorn, Temporal
unreachable: none of these requests needs it), with ``STACKCHAIN_API_TOKEN`` set:

- **big body**: one client POSTs a 200 MB body (Content-Length declared, then poured as fast as
  the server takes it) to ``/api/v1/chains`` without the token, and, on another fresh process, to
  ``/webhooks/spacelift``. Reported: the server's resident memory before, its peak (``VmHWM``)
  after, the answer, and how much of the body got out of the client before the server hung up.
- **slow heads**: 150 connections each send one byte of a request head a second. After 15 s:
  the server's resident memory and how many of the connections it still holds open.
- **stalled bodies**: 150 connections each send a webhook head and 1 MiB minus one byte of its
  body, then stall (the issue's measurement). After 15 s: the same two figures. Again with 90
  connections, fewer than ``STACKCHAIN_HTTP_MAX_CONNECTIONS`` (100), so that they all reach the app.

Halfway through each slow attack an ordinary ``GET /healthz`` records what others get meanwhile.

Open connections are counted from the kernel's table (``/proc/net/tcp``): sockets on the
server's port that the server has not closed (ESTABLISHED or CLOSE_WAIT).

"Before and after": ``STACKCHAIN_BENCH_SRC=/path/to/other/checkout/src python -m bench surface``
runs the API from that source tree instead (a ``git worktree`` of an older commit), with this
interpreter and its packages. The targets are the fixed server's; an older one misses them.
"""

import asyncio
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from tests.conftest import free_port

from bench._harness import Observation, Target, run_once
from bench._procs import ROOT, child, http_ready, wait_for

TOKEN = "bench-surface-token"  # noqa: S105 - a throwaway token for loopback
SECRET = "bench-surface-secret"  # noqa: S105 - a throwaway secret for loopback
HUGE = 200 * 1024 * 1024
CHUNK = 256 * 1024
SLOW_CONNECTIONS = 150
HOLD_SECONDS = 15.0
MIB = 1024 * 1024
WITHIN_LIMIT = 90
"""Fewer than STACKCHAIN_HTTP_MAX_CONNECTIONS (100): these reach the app, and its body deadline."""
SLOW = ("slow_heads", "stalled_bodies", "stalled_bodies_within_limit")

Attack = Callable[[int, int], Awaitable[dict[str, object]]]
"""An attack on the API at a port, knowing its pid; returns what it saw."""


def source() -> str:
    """Where the API's code comes from: ``STACKCHAIN_BENCH_SRC`` or this checkout."""
    return os.environ.get("STACKCHAIN_BENCH_SRC") or str(ROOT / "src")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """The process's resident memory now (``VmRSS``) or at its peak (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    msg = f"no {field} for process {pid}"
    raise RuntimeError(msg)


def open_connections(port: int) -> int:
    """Server-side TCP connections on ``port`` the server has not closed."""
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] in {"01", "08"}:  # ESTABLISHED, CLOSE_WAIT
                    held += 1
    return held


def head(path: str, *lines: str) -> bytes:
    text = "\r\n".join([f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *lines, "", ""])
    return text.encode()


async def read_until_closed(reader: asyncio.StreamReader, into: bytearray) -> None:
    """Append what the server sends to ``into`` until it closes the connection (or resets it)."""
    with contextlib.suppress(ConnectionError):
        while block := await reader.read(65_536):
            into += block


async def healthz_status(port: int) -> int:
    """The status an ordinary request gets now (0: no answer within 5 s)."""
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            return (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code
    except httpx.TransportError:
        return 0


def big_body(path: str) -> Attack:
    """POST 200 MB to ``path`` without the token, reading the answer while sending.

    Once the client has sent what it could, the server has 5 s more to close the connection.
    """

    async def attack(port: int, pid: int) -> dict[str, object]:
        before = rss_mb(pid)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.perf_counter()
        writer.write(head(path, f"Content-Length: {HUGE}", "Content-Type: application/json"))
        sent = 0

        async def pour() -> None:
            nonlocal sent
            with contextlib.suppress(ConnectionError):
                while sent < HUGE:
                    writer.write(b" " * CHUNK)
                    await writer.drain()
                    sent += CHUNK

        answer = bytearray()
        reading = asyncio.create_task(read_until_closed(reader, answer))
        await asyncio.wait_for(pour(), 120)
        poured = time.perf_counter() - started
        done, _ = await asyncio.wait({reading}, timeout=5)
        reading.cancel()
        writer.close()
        status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "none"
        return {
            "status": status,
            "body_mb_sent": round(sent / MIB, 1),
            "sending_seconds": round(poured, 2),
            "closed_by_server": bool(done),
            "rss_before_mb": before,
            "peak_rss_mb": rss_mb(pid, "VmHWM"),
        }

    return attack


def slow_clients(first: bytes, trickle: bytes = b"", count: int = SLOW_CONNECTIONS) -> Attack:
    """``count`` connections: each sends ``first``, then a byte of ``trickle`` a second, for 15 s.

    Halfway, one ordinary ``GET /healthz`` says whether the server still serves others.
    """

    async def attack(port: int, pid: int) -> dict[str, object]:
        before = rss_mb(pid)
        stop = asyncio.Event()
        closed = 0
        answers: dict[str, int] = {}

        async def client() -> None:
            nonlocal closed
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            got, pending = b"", list(trickle)
            try:
                writer.write(first)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(HOLD_SECONDS + 1):
                        while not stop.is_set():
                            if pending:
                                writer.write(bytes([pending.pop(0)]))
                                await writer.drain()
                            if reader.at_eof():
                                closed += 1
                                return
                            with contextlib.suppress(TimeoutError):
                                got += await asyncio.wait_for(reader.read(4096), 1.0)
            except ConnectionError:
                closed += 1
            finally:
                writer.close()
                status = got.split(b" ", 2)[1].decode() if got.startswith(b"HTTP/") else "none"
                answers[status] = answers.get(status, 0) + 1

        clients = [asyncio.create_task(client()) for _ in range(count)]
        await asyncio.sleep(HOLD_SECONDS / 2)  # the attack's length, as the issue measured it
        meanwhile = await healthz_status(port)
        await asyncio.sleep(HOLD_SECONDS / 2)
        figures: dict[str, object] = {
            "connections": count,
            "healthz_meanwhile": meanwhile,
            "rss_before_mb": before,
            "rss_after_15s_mb": rss_mb(pid),
            "peak_rss_mb": rss_mb(pid, "VmHWM"),
            "open_after_15s": open_connections(port),
            "closed_by_server_seen_by_clients": closed,
        }
        stop.set()
        await asyncio.gather(*clients, return_exceptions=True)
        figures["answers"] = dict(sorted(answers.items()))
        return figures

    return attack


async def against_a_fresh_api(attack: Attack) -> dict[str, object]:
    """Start an API (from :func:`source`), run ``attack`` on it, stop it."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        stacks = Path(folder) / "stacks.yaml"
        stacks.write_text("version: 1\nstacks:\n  network: {}\n")
        env = {
            "PYTHONPATH": os.pathsep.join([source(), str(ROOT)]),
            "STACKCHAIN_CONFIG": str(stacks),
            "STACKCHAIN_WEBHOOK_SECRET": SECRET,
            "STACKCHAIN_API_TOKEN": TOKEN,
            "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # nothing listens: not needed here
        }
        args = ("-m", "app", "api", "--port", str(port))
        async with child("surface-api", *args, env=env) as api:
            url = f"http://127.0.0.1:{port}/healthz"
            await wait_for(lambda: http_ready(url), within=60, what="API up")
            return await attack(port, api.pid)


async def measure_surface() -> Observation:
    """Every attack on its own fresh API; figures per attack, targets on the worst of them."""
    stalled_head = head("/webhooks/spacelift", f"Content-Length: {MIB}") + b" " * (MIB - 1)
    attacks = {
        "api_200mb_no_token": big_body("/api/v1/chains"),
        "webhook_200mb": big_body("/webhooks/spacelift"),
        "slow_heads": slow_clients(b"", head("/webhooks/spacelift", "Content-Length: 2")),
        "stalled_bodies": slow_clients(stalled_head),
        "stalled_bodies_within_limit": slow_clients(stalled_head, count=WITHIN_LIMIT),
    }
    notes: dict[str, object] = {"source": source()}
    for name, attack in attacks.items():
        notes[name] = await against_a_fresh_api(attack)
        print(f"  {name}: {json.dumps(notes[name])}", flush=True)

    def figure(attack: str, key: str) -> float:
        value = notes[attack]
        assert isinstance(value, dict)  # noqa: S101 - written above
        return float(value[key])

    growth = max(
        figure(name, "peak_rss_mb") - figure(name, "rss_before_mb")
        for name in ("api_200mb_no_token", "webhook_200mb")
    )
    slow_growth = max(
        figure(name, "rss_after_15s_mb") - figure(name, "rss_before_mb") for name in SLOW
    )
    held = max(figure(name, "open_after_15s") for name in SLOW)
    targets = [
        Target("memory growth under a 200 MB body", growth, 16, " MiB"),
        # The webhook holds its body (up to 1 MiB) for the signature: at most the connection
        # limit (100) of them at once, plus a quarter for the allocator.
        Target("memory growth under slow clients", slow_growth, 125, " MiB"),
        Target("slow connections still open after 15 s", held, 0),
    ]
    return Observation(notes, targets)


BENCHMARKS = [run_once("public surface under attack (#14)", measure_surface)]
