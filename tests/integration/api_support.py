"""The web server on the session's Temporal dev server, wired to an engine of the test.

``api_for(engine, folder)`` builds the app on the engine's task queue with a dependency file of
its own, and can route the fake Spacelift's run events through ``POST /webhooks/spacelift``
(signed, default shape), so a chain is driven by the HTTP path end to end.
"""

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from app.core.chains import chain_input
from app.core.settings import Settings, load_settings
from app.stackfile import load_stack_graph
from app.web.server import create_app
from temporal.inputs import RunEvent
from tests.integration.conftest import Engine, eventually

SECRET = "integration-webhook-secret"
TOKEN = "integration-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SPACELIFT_URL = "https://acme.app.spacelift.io"
STACKS = """\
version: 1
chain:
  max_parallel: 4
  run_timeout: 5m
defaults:
  retries: 0
  retry_backoff: 1s
  confirm: auto
stacks:
  network: {}
  database:
    depends_on: [network]
    confirm: wait
  app:
    depends_on: [database]
  lonely: {}
"""


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def payload(event: RunEvent, *, account: str = "acme") -> dict[str, Any]:
    """The default-shape webhook body Spacelift would send for ``event``."""
    created = int(event.created_at.timestamp()) if event.created_at else None
    stamp = int(event.timestamp.timestamp()) if event.timestamp else created
    changed = 1 if event.has_changes else 0
    return {
        "account": account,
        "state": event.state,
        "stateVersion": event.state_version or 1,
        "timestamp": stamp,
        "run": {
            "id": event.run_id,
            "branch": "main",
            "commit": {"hash": event.commit_sha or "0" * 40},
            "createdAt": created,
            "delta": {"added": changed, "changed": 0, "deleted": 0, "resources": 3},
            "triggeredBy": event.triggered_by,
            "type": event.run_type,
        },
        "stack": {"id": event.stack_id, "name": event.stack_id, "labels": []},
    }


def root_event(run_id: str, stack_id: str = "network", state: str = "FINISHED") -> RunEvent:
    """A person's run of ``stack_id`` in ``state``."""
    return RunEvent(
        stack_id=stack_id,
        run_id=run_id,
        state=state,
        state_version=6,
        triggered_by="jane.doe@acme.example",
    )


async def chain_when(
    http: httpx.AsyncClient,
    chain_id: str,
    condition: Callable[[dict[str, Any]], bool],
    within: float = 30,
) -> dict[str, Any]:
    """The chain's document (GET /api/v1/chains/{id}) once ``condition`` holds for it."""
    document: dict[str, Any] = {}

    async def holds() -> bool:
        nonlocal document
        answer = await http.get(f"/api/v1/chains/{chain_id}", headers=AUTH)
        document = answer.json() if answer.status_code == 200 else {}
        return bool(document) and condition(document)

    await eventually(holds, within=within)
    return document


async def chain_ended(http: httpx.AsyncClient, chain_id: str) -> dict[str, Any]:
    """The chain's document once its workflow has closed (``finished_at`` is set only then)."""
    return await chain_when(http, chain_id, lambda chain: chain["finished_at"] is not None)


@dataclass
class Api:
    engine: Engine
    app: FastAPI
    http: httpx.AsyncClient
    settings: Settings

    async def webhook(self, body: dict[str, Any] | bytes) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.http.post("/webhooks/spacelift", content=raw, headers=sign(raw))

    async def deliver(self, event: RunEvent) -> None:
        """The fake Spacelift's sink: every run event goes through the HTTP webhook."""
        answer = await self.webhook(payload(event))
        if answer.status_code == 503:
            raise RuntimeError(answer.text)  # the fake counts it as a lost webhook
        assert answer.status_code in {200, 202}, answer.text


@asynccontextmanager
async def api_for(
    engine: Engine, folder: Path, *, through_webhooks: bool = True, **overrides: Any
) -> AsyncIterator[Api]:
    """The app on ``engine``'s task queue; the engine plans root chains from the same file."""
    config = folder / "stacks.yaml"
    config.write_text(STACKS)
    settings = load_settings(
        **{
            "webhook_secret": SECRET,
            "api_token": TOKEN,
            "config_path": config,
            "task_queue": engine.task_queue,
            "poll_interval": engine.poll_interval,
        }
        | overrides
    )
    graph = load_stack_graph(config)
    engine.plans["network"] = chain_input(graph, graph.plan("network"), spacelift_url=SPACELIFT_URL)
    app = create_app(settings, temporal=engine.client, spacelift_url=SPACELIFT_URL)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stackchain.test") as http:
        api = Api(engine, app, http, settings)
        if through_webhooks:
            engine.spacelift.sink = api.deliver
        yield api
