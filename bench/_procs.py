"""Benchmark helpers: the parts under test as child processes, and their peak memory.

Children run this interpreter with the repository on ``PYTHONPATH``; their output goes to a log
file under ``$TMPDIR/stackchain-bench/`` so a failure can be read afterwards.
"""

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
LOGS = Path(tempfile.gettempdir()) / "stackchain-bench"


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    msg = f"no VmHWM for process {pid}"
    raise RuntimeError(msg)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child: ours, the repository importable, plus ``extra``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


@contextlib.asynccontextmanager
async def child(
    name: str, *args: str, env: Mapping[str, str] | None = None, ready_line: str | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python ARGS`` as a child; waits for ``ready_line`` on its stdout when given.

    Stopped with SIGTERM (SIGKILL after 15 s) when the block ends.
    """
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / f"{name}.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            env=child_env(env),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE if ready_line else log,
            stderr=log,
        )
    try:
        if ready_line is not None:
            await _wait_for_line(process, ready_line, name)
        yield process
    finally:
        await _stop(process)


async def _wait_for_line(process: asyncio.subprocess.Process, line: str, name: str) -> None:
    assert process.stdout is not None  # noqa: S101 - piped above
    async with asyncio.timeout(60):
        while True:
            raw = await process.stdout.readline()
            if not raw:
                msg = f"{name} exited with code {await process.wait()} before saying {line!r}"
                raise RuntimeError(msg)
            if raw.decode().strip() == line:
                return


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 15)
    except TimeoutError:
        process.kill()
        await process.wait()


async def wait_for(
    condition: Callable[[], Awaitable[bool]], *, within: float, what: str, every: float = 0.05
) -> None:
    """Wait until ``condition()`` holds (checked every ``every`` seconds), or fail."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            msg = f"not within {within:g} s: {what}"
            raise TimeoutError(msg)
        await asyncio.sleep(every)


async def http_ready(url: str) -> bool:
    """True once ``url`` answers 200."""
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(url)).status_code == httpx.codes.OK
    except httpx.TransportError:
        return False
