"""``POST /webhooks/spacelift``: the raw body (capped while streaming), then the handler."""

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.core.errors import ApiError, PayloadTooLargeError
from app.web.deps import MetricsDep, WebhooksDep
from app.web.webhooks.handler import MAX_BODY_BYTES, SIGNATURE_HEADER

router = APIRouter(tags=["webhooks"])

_OUTCOMES = {401: "unauthorized", 413: "too_large", 422: "invalid", 503: "unavailable"}
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
    413: {"description": "Body over 1 MiB (checked before the signature)."},
    422: {"description": "Not JSON, or neither payload shape."},
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


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refusing (413) as soon as it passes ``limit``; Content-Length is a hint only."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        msg = f"body over {limit} bytes"
        raise PayloadTooLargeError(msg)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            msg = f"body over {limit} bytes"
            raise PayloadTooLargeError(msg)
    return bytes(body)


@router.post(
    "/webhooks/spacelift",
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
    outcome = "error"
    try:
        body = await read_capped(request)
        answer = await webhooks.handle(body, request.headers.get(SIGNATURE_HEADER))
        outcome = answer.outcome
        return JSONResponse(answer.body, status_code=answer.status_code)
    except ApiError as error:
        outcome = _OUTCOMES.get(error.status_code, "error")
        raise
    finally:
        metrics.webhooks.labels(outcome=outcome).inc()
        metrics.webhook_seconds.observe(time.perf_counter() - started)
