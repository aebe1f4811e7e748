"""``stackchain serve`` as ``make run`` starts it: no settings at all, so the embedded Temporal
and the sandbox; a push in the sandbox runs a chain through the real webhook path."""

import asyncio
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.conftest import until
from tests.integration.conftest import free_port

STACKS = """
version: 1
defaults: {confirm: auto, retries: 0}
stacks:
  network: {}
  app: {depends_on: [network]}
"""


async def test_serve_runs_a_chain_from_a_sandbox_push(tmp_path: Path) -> None:
    """In an empty directory, serve starts everything; a push to network runs app after it,
    the state lands in .stackchain/ (the user's alone), it warns that no API token is set, and
    SIGTERM ends it cleanly."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "stacks.yaml").write_text(STACKS)
    api, sandbox = free_port(), free_port()
    ports = ["--port", str(api), "--sandbox-port", str(sandbox),
             "--temporal-port", str(free_port()),
             "--temporal-ui-port", str(free_port())]  # fmt: skip
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(  # noqa: S603, ASYNC220 - our own module; started once
        [sys.executable, "-m", "app", "serve", *ports],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "")},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api}", timeout=10) as http:
            await until(lambda: _ready(http), 60, "serve answering /readyz")
            pushed = await http.post(f"http://127.0.0.1:{sandbox}/sandbox/stacks/network/push")
            assert pushed.status_code == 201
            chain_id = f"chain-network-{pushed.json()['id']}"
            await until(lambda: _ended(http, chain_id), 60, f"{chain_id} ending")
            chain = (await http.get(f"/api/v1/chains/{chain_id}")).json()
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 30)
    finally:
        if process.poll() is None:
            process.kill()
    output = (tmp_path / "serve.log").read_text()

    assert chain["status"] == "succeeded", output
    assert chain["stacks"]["app"]["state"] == "succeeded"
    assert code == 0, output
    assert "SANDBOX" in output  # said loudly
    assert "WARNING: no STACKCHAIN_API_TOKEN is set" in output
    state = tmp_path / ".stackchain"
    assert (state / "temporal.db").is_file()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    files = [path for path in state.rglob("*") if path.is_file()]
    assert {stat.S_IMODE(path.stat().st_mode) for path in files} == {0o600}, files


async def _ready(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def _ended(http: httpx.AsyncClient, chain_id: str) -> bool:
    answer = await http.get(f"/api/v1/chains/{chain_id}")
    return answer.status_code == 200 and answer.json()["status"] != "running"
