"""The compose stack for real: built, started in order, and taking a signed Spacelift webhook.

Needs a Docker engine (and the images it pulls); skipped, saying so, when none answers. The
worker is pointed at an unreachable Spacelift: the test proves the path webhook -> API ->
Temporal on PostgreSQL, not Spacelift runs (the e2e tests do those against the sandbox).
"""

import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx
import pytest
from docker.errors import DockerException

from tests.deploy.deployfiles import COMPOSE_FILE, ROOT

WEBHOOK = ROOT / "tests" / "unit" / "app" / "web" / "webhook_samples" / "run-finished-tracked.json"
START_DEADLINE = 900.0  # seconds: first pulls and the image build are slow


def docker_engine() -> docker.DockerClient:
    """A client of a Docker engine that answers, or a skip saying why there is none."""
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as error:
        pytest.skip(f"no Docker engine reachable (docker.from_env().ping() failed: {error})")
    return client


def compose_command() -> list[str]:
    """``docker compose`` (v2) or ``docker-compose`` (v1), or a skip."""
    docker_cli = shutil.which("docker")
    if docker_cli is not None:
        probe = subprocess.run(  # noqa: S603 - a fixed command line
            [docker_cli, "compose", "version"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return [docker_cli, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    return [legacy]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Stack:
    """One compose project of the repository's file, under a name of its own."""

    command: list[str]
    env_file: Path
    env: dict[str, str]
    api_url: str
    project: str

    def compose(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        project = ["--env-file", str(self.env_file), "-p", self.project, "-f", str(COMPOSE_FILE)]
        return subprocess.run(  # noqa: S603 - compose with our own file and arguments
            [*self.command, *project, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    engine = docker_engine()
    command = compose_command()
    empty_env = tmp_path_factory.mktemp("compose") / "empty.env"
    empty_env.write_text("")
    api_port = free_port()
    env = {
        **os.environ,
        "SPACELIFT_API_KEY_ENDPOINT": "https://spacelift.invalid",
        "SPACELIFT_API_TOKEN": "not-a-real-token",
        "STACKCHAIN_WEBHOOK_SECRET": "compose-test-webhook-secret",
        "STACKCHAIN_API_TOKEN": "compose-test-api-token",
        "POSTGRES_PASSWORD": "compose-test-password",
        "STACKCHAIN_API_PORT": str(api_port),
        "TEMPORAL_PORT": str(free_port()),
        "TEMPORAL_UI_PORT": str(free_port()),
    }
    project = f"stackchain-test-{uuid.uuid4().hex[:8]}"
    # An empty --env-file: the settings come from this test, not from a .env in the tree.
    stack = Stack(command, empty_env, env, f"http://127.0.0.1:{api_port}", project)
    try:
        started = stack.compose("up", "-d", "--build", timeout=START_DEADLINE)
        assert started.returncode == 0, started.stderr
        yield stack
    finally:
        logs = stack.compose("logs", "--no-color", "--tail", "200")
        Path(tmp_path_factory.getbasetemp() / f"{project}.log").write_text(logs.stdout)
        stack.compose("down", "-v", "--remove-orphans", timeout=300)
        engine.close()


def wait_ready(url: str, deadline: float) -> httpx.Response:
    """GET /readyz until it answers 200 or the deadline passes; the last answer."""
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(f"{url}/readyz", timeout=5)
            if last.status_code == httpx.codes.OK:
                return last
        except httpx.TransportError:
            pass
        time.sleep(1)  # polling a condition with a deadline, not synchronising on time
    pytest.fail(f"the API never became ready: {last.text if last else 'no answer'}")


@pytest.mark.timeout(START_DEADLINE + 300)
def test_the_stack_accepts_a_signed_webhook(stack: Stack) -> None:
    """Up from scratch, the API turns ready and hands a signed webhook to Temporal (202)."""
    wait_ready(stack.api_url, time.monotonic() + START_DEADLINE)
    event = json.loads(WEBHOOK.read_text())
    event["timestamp"] = int(time.time())  # the sample's own time is older than the max age
    body = json.dumps(event).encode()
    secret = stack.env["STACKCHAIN_WEBHOOK_SECRET"].encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    answer = httpx.post(
        f"{stack.api_url}/webhooks/spacelift",
        content=body,
        headers={"Content-Type": "application/json", "X-Signature-256": signature},
        timeout=30,
    )
    assert answer.status_code == httpx.codes.ACCEPTED, answer.text
    assert answer.json()["status"] == "accepted"
    unsigned = httpx.post(f"{stack.api_url}/webhooks/spacelift", content=body, timeout=30)
    assert unsigned.status_code == httpx.codes.UNAUTHORIZED


@pytest.mark.timeout(120)
def test_the_one_shot_jobs_finished_cleanly(stack: Stack) -> None:
    """The schema and setup jobs ran once and exited 0; api and worker are running."""
    engine = docker_engine()
    try:
        label = f"com.docker.compose.project={stack.project}"
        containers = engine.containers.list(all=True, filters={"label": label})
        by_service = {c.labels["com.docker.compose.service"]: c for c in containers}
        for job in ("temporal-schema", "temporal-setup"):
            state = by_service[job].attrs["State"]
            assert state["Status"] == "exited", job
            assert state["ExitCode"] == 0, job
        assert by_service["api"].status == "running"
    finally:
        engine.close()
