"""A webhook receiver and the sandbox world most tests use."""

import hashlib
import hmac
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spacelift.sandbox import (
    Durations,
    SandboxConfig,
    SandboxContext,
    SandboxSpace,
    SandboxStack,
    WebhookTarget,
)

ENDPOINT = "http://sandbox.test"
HOOK_URL = "http://receiver.test/hooks"
HOOK_SECRET = "whsec-test"
SAMPLES = Path(__file__).with_name("samples")
SLOW = Durations(queued=0.001, preparing=30.0, planning=30.0, applying=30.0)
"""Phases that outlast any test: a run stays where it is until stopped."""
FAST = Durations(queued=0.001, preparing=0.002, planning=0.004, applying=0.004)


def world(**overrides: Any) -> SandboxConfig:
    """Three stacks in a line (network <- database <- app), a space and two contexts."""
    stacks = (
        SandboxStack(
            "network",
            name="Network",
            description="VPC and subnets",
            labels=("layer:base",),
            outputs={"VPC_ID": "vpc-1"},
            durations=FAST,
        ),
        SandboxStack(
            "database",
            depends_on=("network",),
            space="prod",
            labels=("team:data",),
            durations=FAST,
        ),
        SandboxStack("app", depends_on=("database",), autodeploy=False, durations=FAST),
        SandboxStack("slow", durations=SLOW),
    )
    values: dict[str, Any] = {
        "stacks": stacks,
        "spaces": (SandboxSpace("prod", name="Production", labels=("env:prod",)),),
        "contexts": (
            SandboxContext("shared", name="Shared", labels=("common",)),
            SandboxContext("secrets", space="prod"),
        ),
        "account": "acme",
        **overrides,
    }
    return SandboxConfig(**values)


def hook(shape: str = "default", **overrides: Any) -> WebhookTarget:
    """The receiver as the webhook target, with fast retries."""
    values: dict[str, Any] = {"retry_backoff": 0.001, **overrides}
    return WebhookTarget(HOOK_URL, HOOK_SECRET, shape=shape, **values)  # type: ignore[arg-type]


def sample(name: str) -> Any:
    """A sample webhook body (copied from shared/samples/webhooks)."""
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def shape_of(value: Any) -> Any:
    """The structure of a JSON value: keys and value types, not the values."""
    if isinstance(value, dict):
        return {key: shape_of(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape_of(value[0])] if value else []
    return type(value).__name__


@dataclass(frozen=True)
class Received:
    """One webhook request as the receiver saw it."""

    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("x-signature-256", ""))


class Receiver:
    """An in-process webhook endpoint; ``statuses`` are the answers to give next (then 200)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: deque[int] = deque()
        self.app = Starlette(routes=[Route("/hooks", self._hook, methods=["POST"])])

    async def _hook(self, request: Request) -> Response:
        self.received.append(Received(await request.body(), dict(request.headers)))
        return Response(status_code=self.statuses.popleft() if self.statuses else 200)

    def events(self) -> list[tuple[str, str, int]]:
        """(run id, state, stateVersion) of each default-shape event received, in order."""
        return [
            (r.json["run"]["id"], r.json["state"], r.json["stateVersion"]) for r in self.received
        ]
