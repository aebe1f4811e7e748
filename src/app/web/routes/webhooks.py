"""``POST /webhooks/spacelift``: the raw body, then the handler.

The body guard caps the body while it streams; its refusals of a webhook are counted with the
route's outcomes, through :func:`count_refusals`.
"""

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.types import Scope

from app.core.errors import ApiError
from app.web.body_guard import BodyRefusedError, RefusalHook
from app.web.deps import MetricsDep, WebhooksDep
from app.web.metrics import Metrics
from app.web.webhooks.handler import MAX_BODY_BYTES, SIGNATURE_HEADER

PATH = "/webhooks/spacelift"
BODY_CAP = MAX_BODY_BYTES
"""The body guard's cap on this route's body (1 MiB); every other body gets 64 KiB."""

router = APIRouter(tags=["webhooks"])

_OUTCOMES = {
    401: "unauthorized",
    408: "too_slow",
    413: "too_large",
    422: "invalid",
    503: "unavailable",
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Nothing to do: a proposed run, a stack not in the file, an internal "
        "error, a stale event (older than STACKCHAIN_EVENT_MAX_AGE by its own time: reason "
        '"stale event") or a duplicate.',
        "content": {
            "application/json": {"example": {"status": "ignored", "reason": "proposed run"}}
        },
    },
    202: {
        "description": "The event was handed to Temporal (the stack's lane).",
        "content": {"application/json": {"example": {"status": "accepted"}}},
    },
    401: {"description": f"Bad or missing {SIGNATURE_HEADER}."},
    408: {"description": "The body did not arrive in full within 10 s of the request's start."},
    413: {"description": "Body over 1 MiB (checked before the signature)."},
    422: {"description": "Not a JSON object, or a run event whose fields are malformed."},
    503: {"description": "Temporal is unreachable: Spacelift should retry."},
}
_SAMPLE_RUN = {
    "account": "acme",
    "state": "FINISHED",
    "stateVersion": 6,
    "timestamp": 1795305600,
    "run": {
        "id": "01JD4Q8W5Z3K7M2N9P0R6S1T4V",
        "createdAt": 1795305510,
        "delta": {"added": 2, "changed": 1, "deleted": 0, "resources": 41},
        "commit": {"hash": "3f1c9a27b8e44d0c91a6e5f2d7b0c8a9e1f2d3c4"},
        "triggeredBy": "jane.doe@acme.example",
        "type": "TRACKED",
    },
    "stack": {"id": "network", "name": "Network", "labels": []},
}
_OPENAPI_BODY = {
    "requestBody": {
        "required": True,
        "description": f"A Spacelift run event, signed in {SIGNATURE_HEADER}: "
        "sha256=<hex HMAC-SHA256(secret, exact body)>. The default (camelCase) payload or a "
        "notification policy's snake_case input (run_updated).",
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "examples": {"run event": {"value": _SAMPLE_RUN}},
            }
        },
    },
    "parameters": [
        {
            "name": SIGNATURE_HEADER,
            "in": "header",
            "required": True,
            "schema": {"type": "string", "pattern": "^sha256=[0-9a-fA-F]{64}$"},
        }
    ],
}


def count_refusals(metrics: Metrics) -> RefusalHook:
    """The body guard's hook: a refused webhook body counts as "too_large" or "too_slow"."""

    def count(scope: Scope, error: ApiError) -> None:
        if scope["path"] == PATH:
            metrics.webhooks.labels(outcome=_OUTCOMES.get(error.status_code, "error")).inc()

    return count


@router.post(
    PATH,
    status_code=202,
    responses=_RESPONSES,
    openapi_extra=_OPENAPI_BODY,
    summary="Receive a Spacelift run event",
)
async def spacelift_webhook(
    request: Request, webhooks: WebhooksDep, metrics: MetricsDep
) -> JSONResponse:
    """Verify, parse and hand the event to its stack's lane."""
    started = time.perf_counter()
    outcome: str | None = "error"
    try:
        body = await request.body()
        answer = await webhooks.handle(body, request.headers.get(SIGNATURE_HEADER))
        outcome = answer.outcome
        return JSONResponse(answer.body, status_code=answer.status_code)
    except BodyRefusedError:
        outcome = None  # the guard answered and counted it
        raise
    except ApiError as error:
        outcome = _OUTCOMES.get(error.status_code, "error")
        raise
    finally:
        if outcome is not None:
            metrics.webhooks.labels(outcome=outcome).inc()
            metrics.webhook_seconds.observe(time.perf_counter() - started)
