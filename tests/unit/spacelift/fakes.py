"""A fake Spacelift GraphQL endpoint for respx: answers per operation, records every request."""

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from graphql import (
    FieldNode,
    OperationDefinitionNode,
    ValueNode,
    VariableNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

ENDPOINT = "https://acme.app.spacelift.io"
GRAPHQL_URL = f"{ENDPOINT}/graphql"
KEY_ID = "01HKEYID0000000000000000"
KEY_SECRET = "key-secret-9f3b2c7d1e"
JWT = "eyJhbGciOiJIUzI1NiJ9.first-jwt.c2ln"
JWT_2 = "eyJhbGciOiJIUzI1NiJ9.second-jwt.c2ln"
API_TOKEN = "ready-token-5a6b7c8d"

Answer = httpx.Response | dict[str, Any] | Callable[[httpx.Request], Any]


@dataclass
class Call:
    """One GraphQL request the client sent."""

    operation: str
    query: str
    variables: dict[str, Any]
    authorization: str | None

    def root_field(self) -> tuple[str, dict[str, str]]:
        """The operation's top-level field and its arguments (``{"stack": "$stack"}``)."""
        document = parse(self.query)
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        root = operation.selection_set.selections[0]
        assert isinstance(root, FieldNode)
        return root.name.value, {
            arg.name.value: _argument(arg.value) for arg in root.arguments or ()
        }

    def fields(self) -> set[str]:
        """Every field name selected anywhere in the document, fragments included."""
        names: set[str] = set()

        class Collect(Visitor):
            def enter_field(self, node: FieldNode, *_: object) -> None:
                names.add(node.name.value)

        visit(parse(self.query), Collect())
        return names


def _argument(value: ValueNode) -> str:
    if isinstance(value, VariableNode):
        return f"${value.name.value}"
    return print_ast(value)


def data(payload: dict[str, Any]) -> httpx.Response:
    """A 200 answer with ``payload`` as its GraphQL data."""
    return httpx.Response(200, json={"data": payload})


def errors(*messages: str) -> httpx.Response:
    """A 200 answer with a GraphQL errors array."""
    return httpx.Response(200, json={"data": None, "errors": [{"message": m} for m in messages]})


def login_answer(jwt: str = JWT, valid_for: float = 3600.0) -> httpx.Response:
    """A successful ``apiKeyUser`` answer."""
    return data({"apiKeyUser": {"jwt": jwt, "validUntil": int(time.time() + valid_for)}})


@dataclass
class FakeApi:
    """Answers each operation from its queue (the last answer repeats); records every call."""

    answers: dict[str, list[Answer]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def on(self, operation: str, *answers: Answer) -> None:
        """Answer ``operation`` with ``answers`` in turn, the last one from then on."""
        self.answers[operation] = list(answers)

    def of(self, operation: str) -> list[Call]:
        """The calls made of one operation."""
        return [call for call in self.calls if call.operation == operation]

    def __call__(self, request: httpx.Request) -> httpx.Response | Awaitable[httpx.Response]:
        body = json.loads(request.content)
        operation = body.get("operationName", "")
        self.calls.append(
            Call(
                operation,
                body["query"],
                body.get("variables") or {},
                request.headers.get("Authorization"),
            )
        )
        queue = self.answers.get(operation)
        if not queue:
            return errors(f"no fake answer for {operation}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, dict):
            return data(answer)
        if isinstance(answer, httpx.Response):  # a fresh copy: a response is read only once
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )
        return answer(request)  # type: ignore[no-any-return]


def stack_payload(stack_id: str = "network", **overrides: Any) -> dict[str, Any]:
    """A ``Stack`` as the API answers it, with every field the client asks for."""
    payload: dict[str, Any] = {
        "id": stack_id,
        "name": stack_id.title(),
        "description": None,
        "labels": ["team:infra"],
        "branch": "main",
        "state": "FINISHED",
        "space": "root",
        "trackedCommit": {"hash": "abc123"},
        "isDisabled": False,
        "lockedBy": None,
        "outputs": [],
        "dependsOn": [],
        "isDependedOnBy": [],
    }
    return payload | overrides


def run_payload(run_id: str = "01RUN", state: str = "FINISHED", **overrides: Any) -> dict[str, Any]:
    """A ``Run`` as the API answers it, with every field the client asks for."""
    payload: dict[str, Any] = {
        "id": run_id,
        "state": state,
        "type": "TRACKED",
        "createdAt": 1_700_000_000,
        "triggeredBy": "alice@example.com",
        "finished": state in {"FINISHED", "FAILED", "STOPPED", "CANCELED", "DISCARDED", "SKIPPED"},
        "delta": {"addCount": 1, "changeCount": 0, "deleteCount": 0},
        "history": [
            {"state": "QUEUED", "stateVersion": 1, "timestamp": 1_700_000_000, "terminal": False},
            {"state": state, "stateVersion": 2, "timestamp": 1_700_000_060, "terminal": True},
        ],
    }
    return payload | overrides
