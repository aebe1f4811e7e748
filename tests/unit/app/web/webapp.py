"""Helpers for the web server's unit tests: a dependency file, settings, signing, and the app
with Temporal replaced (the lane signaler and the chain operations are dependency overrides)."""

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from temporalio.client import Client

from app.core.errors import ConflictError, NotFoundError, TemporalUnavailableError
from app.core.settings import Settings, load_settings
from app.web.body_guard import BODY_TIME_LIMIT
from app.web.deps import AppParts, get_chains, get_webhooks
from app.web.server import create_app
from app.web.webhooks.handler import WebhookHandler
from temporal.inputs import ChainStatus, RunEvent

SECRET = "unit-test-webhook-secret"
BASE_URL = "http://127.0.0.1:8000"
"""Where the tests reach the app: a loopback Host, as the loopback-only mode (no token) needs."""
TOKEN = "unit-test-api-token"
SAMPLES = Path(__file__).with_name("webhook_samples")
SAMPLE_TIME = 1_795_305_600
"""When the samples' events happened (their ``timestamp``; the policy sample's ``updated_at``)."""
STACKS_YAML = """\
version: 1
stacks:
  network: {}
  database:
    depends_on: [network]
  app:
    depends_on: [database]
  lonely: {}
"""


def write_stacks(folder: Path, text: str = STACKS_YAML) -> Path:
    path = folder / "stacks.yaml"
    path.write_text(text)
    return path


def settings_for(folder: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_secret": SECRET,
        "config_path": write_stacks(folder),
        "task_queue": "unit",
    }
    return load_settings(**(values | overrides))


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.json").read_bytes()


@dataclass
class RecordingSignaler:
    """Stands in for signal-with-start of a lane: records events, or fails like Temporal down."""

    events: list[RunEvent] = field(default_factory=list)
    down: bool = False

    async def __call__(self, event: RunEvent) -> None:
        if self.down:
            msg = "Temporal did not answer within 5s"
            raise TemporalUnavailableError(msg)
        self.events.append(event)


@dataclass
class FakeChains:
    """The chain operations without Temporal: one running chain, ``database`` awaiting approval."""

    started: list[tuple[str, bool]] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    chain: dict[str, Any] = field(
        default_factory=lambda: {
            "chain_id": "chain-network-r1",
            "root_stack": "network",
            "root_run_id": "r1",
            "status": "running",
            "started_at": "2026-11-21T10:00:00+00:00",
            "finished_at": None,
            "stacks": {
                "database": {
                    "state": "awaiting_confirmation",
                    "run_id": "r2",
                    "run_url": None,
                    "attempts": 1,
                    "depends_on": ["network"],
                },
                "app": {"state": "pending", "attempts": 0, "depends_on": ["database"]},
            },
        }
    )

    def _find(self, chain_id: str) -> dict[str, Any]:
        if chain_id != self.chain["chain_id"]:
            msg = f"no chain {chain_id!r}"
            raise NotFoundError(msg)
        return self.chain

    async def start(self, stack: str, *, include_root: bool) -> str:
        if stack not in {"network", "database", "app", "lonely"}:
            msg = f"stack '{stack}' is not in stacks.yaml"
            raise NotFoundError(msg)
        self.started.append((stack, include_root))
        return f"chain-{stack}-manual-1"

    async def list_chains(self, status: ChainStatus | None = None, limit: int = 100) -> list[Any]:
        del limit
        chain = self.chain
        keep = status is None or status == chain["status"]
        fields = ("chain_id", "root_stack", "status", "started_at")
        return [{key: chain[key] for key in fields}] if keep else []

    async def count(self, status: ChainStatus) -> int:
        return int(status == self.chain["status"])

    async def get(self, chain_id: str) -> dict[str, Any]:
        return self._find(chain_id)

    async def cancel(self, chain_id: str) -> None:
        self._find(chain_id)
        self.canceled.append(chain_id)

    async def approve(self, chain_id: str, stack: str) -> str:
        stacks = self._find(chain_id)["stacks"]
        if stack not in stacks:
            msg = f"stack '{stack}' is not in chain {chain_id}"
            raise NotFoundError(msg)
        if stacks[stack]["state"] != "awaiting_confirmation":
            msg = f"stack {stack!r} is not awaiting confirmation ({stacks[stack]['state']})"
            raise ConflictError(msg)
        return str(stacks[stack]["run_id"])


async def no_temporal() -> Client:
    msg = "no Temporal in unit tests"
    raise RuntimeError(msg)


@dataclass
class WebApp:
    app: FastAPI
    signaler: RecordingSignaler
    chains: FakeChains

    @property
    def parts(self) -> AppParts:
        parts: AppParts = self.app.state.parts
        return parts

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, **kwargs)
        return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


def sample_clock() -> float:
    """A minute after the samples' events: they are fresh, whenever the tests run."""
    return SAMPLE_TIME + 60.0


def build(
    settings: Settings,
    clock: Callable[[], float] = sample_clock,
    *,
    body_time_limit: float = BODY_TIME_LIMIT,
) -> WebApp:
    """The app, its lanes replaced by a recorder and its chains by :class:`FakeChains`.

    The webhook handler reads ``clock``: by default the samples' own time, so they are fresh.
    """
    app = create_app(
        settings, temporal=no_temporal, rpc_timeout=1.0, body_time_limit=body_time_limit
    )
    parts: AppParts = app.state.parts
    signaler, chains = RecordingSignaler(), FakeChains()
    handler = WebhookHandler(
        secret=SECRET.encode(),
        graphs=parts.graphs,
        signal=signaler,
        metrics=parts.metrics,
        max_age=settings.event_max_age,
        clock=clock,
    )
    app.dependency_overrides[get_webhooks] = lambda: handler
    app.dependency_overrides[get_chains] = lambda: chains
    return WebApp(app, signaler, chains)
