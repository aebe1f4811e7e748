"""Webhook bodies for a run's transition, in both shapes, and their signatures.

The default shape is Spacelift's camelCase run event (unix seconds, ``stateVersion``); the policy
shape is what a notification policy that forwards its whole input sends (snake_case, nanosecond
timestamps, wrapped in ``run_updated``). Both match ``shared/samples/webhooks``.
"""

import hashlib
import hmac
from typing import Any

from spacelift.models import run_url
from spacelift.sandbox.runs import Commit, SimRun, Transition
from spacelift.sandbox.world import StackEntry

NANOSECONDS = 1_000_000_000


def _delta(run: SimRun) -> dict[str, int]:
    delta = run.delta
    if not run.planned:  # nothing is known about changes before the plan
        return {"added": 0, "changed": 0, "deleted": 0, "resources": delta.resources}
    return {
        "added": delta.added,
        "changed": delta.changed,
        "deleted": delta.deleted,
        "resources": delta.resources,
    }


def _commit(commit: Commit) -> dict[str, Any]:
    return {
        "authorLogin": commit.author_login,
        "authorName": commit.author_name,
        "hash": commit.hash,
        "message": commit.message,
        "timestamp": int(commit.timestamp),
        "url": commit.url,
    }


def default_payload(
    account: str, entry: StackEntry, run: SimRun, transition: Transition
) -> dict[str, Any]:
    """The default (camelCase) run event."""
    spec = entry.spec
    return {
        "account": account,
        "state": transition.state.value,
        "stateVersion": transition.state_version,
        "timestamp": int(transition.timestamp),
        "run": {
            "id": run.id,
            "branch": run.branch,
            "commit": _commit(run.commit),
            "createdAt": int(run.created_at),
            "delta": _delta(run),
            "triggeredBy": run.triggered_by,
            "type": run.type.value,
        },
        "stack": {
            "id": spec.id,
            "name": spec.display_name,
            "description": spec.description,
            "labels": list(spec.labels),
        },
    }


def _ns(seconds: float) -> int:
    return int(seconds * NANOSECONDS)


def policy_payload(
    account: str,
    base_url: str,
    endpoint_id: str,
    entry: StackEntry,
    run: SimRun,
    transition: Transition,
) -> dict[str, Any]:
    """The notification-policy (snake_case) shape."""
    spec, commit = entry.spec, run.commit
    run_body: dict[str, Any] = {
        "id": run.id,
        "type": run.type.value,
        "state": transition.state.value,
        "branch": run.branch,
        "commit": {
            "author": commit.author_login,
            "branch": run.branch,
            "created_at": _ns(commit.timestamp),
            "hash": commit.hash,
            "message": commit.message,
            "url": commit.url,
        },
        "created_at": _ns(run.created_at),
        "updated_at": _ns(transition.timestamp),
        "triggered_by": run.triggered_by,
        "drift_detection": False,
        "states_history": [],
        "changes": [],
    }
    stack_body = {
        "id": spec.id,
        "name": spec.display_name,
        "branch": spec.branch,
        "labels": list(spec.labels),
        "space": spec.space,
        "autodeploy": spec.autodeploy,
        "administrative": False,
        "repository": spec.repository,
        "state": entry.state,
    }
    return {
        "account": {"name": account},
        "webhook_endpoints": [{"id": endpoint_id, "labels": []}],
        "run_updated": {
            "state": transition.state.value,
            "username": transition.username or run.triggered_by,
            "note": transition.note or "",
            "run": run_body,
            "stack": stack_body,
            "urls": {"run": run_url(base_url, spec.id, run.id)},
        },
    }


def signature_headers(secret: str, body: bytes) -> dict[str, str]:
    """``X-Signature-256`` (HMAC-SHA256 of the exact body) and the SHA-1 ``X-Signature``."""
    key = secret.encode()
    return {
        "X-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
        "X-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
    }
