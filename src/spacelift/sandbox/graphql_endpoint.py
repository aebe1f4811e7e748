"""``POST /graphql``: authentication, chaos, then ariadne executes the request.

As Spacelift: a request without a valid bearer token gets HTTP 401 (only ``apiKeyUser`` and
introspection need none); a refused action is an ``errors`` array in an HTTP 200 answer. Chaos
may answer 5xx, 429 or nothing before executing, or execute and then lose the answer.
"""

import asyncio
import functools
import logging
from typing import Any

from ariadne import graphql
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from spacelift.sandbox.chaos import Fault
from spacelift.sandbox.resolvers import Context
from spacelift.sandbox.runs import SandboxError
from spacelift.sandbox.sandbox import Sandbox

PUBLIC_FIELDS = frozenset({"apiKeyUser", "__schema", "__type", "__typename"})
_log = logging.getLogger("spacelift.sandbox")
_errors_log = logging.getLogger("spacelift.sandbox.graphql")


class _RefusalsAreInfo(logging.Filter):
    """Ariadne logs every resolver error with a traceback; a refused action is only an answer."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(getattr(error, "original_error", None), SandboxError):
            record.levelno, record.levelname, record.exc_info = logging.INFO, "INFO", None
        return True


_errors_log.addFilter(_RefusalsAreInfo())


VALIDATED_LIMIT = 1_000
"""Distinct valid queries remembered per endpoint (the client sends about fifteen)."""


@functools.lru_cache(maxsize=512)
def _parsed(query: str) -> DocumentNode:
    return parse(query)


def parse_once(query: str) -> DocumentNode | None:
    """The query's document, parsed once per distinct text; None when it does not parse."""
    try:
        return _parsed(query)
    except GraphQLError:
        return None


def _already_valid(*_: object, **__: object) -> list[GraphQLError]:
    return []


def root_fields(data: dict[str, Any]) -> tuple[str, frozenset[str]]:
    """The operation's name (or its first root field) and its root fields; unparsable: empty."""
    document = parse_once(str(data.get("query") or ""))
    if document is None:
        return "invalid", frozenset()
    wanted = data.get("operationName")
    for node in document.definitions:
        if not isinstance(node, OperationDefinitionNode):
            continue
        name = node.name.value if node.name else None
        if wanted and name != wanted:
            continue
        # A fragment spread at the root counts as a field no one may ask for without a token.
        fields = frozenset(
            item.name.value if isinstance(item, FieldNode) else "..."
            for item in node.selection_set.selections
        )
        return name or min(fields, default="anonymous"), fields
    return "invalid", frozenset()


def _errors(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"errors": [{"message": message}]}, status_code=status, headers=headers)


class GraphQLEndpoint:
    """The ASGI app behind ``/graphql`` (raw ASGI, so that chaos can cut a connection)."""

    def __init__(self, sandbox: Sandbox, schema: GraphQLSchema) -> None:
        self._sandbox = sandbox
        self._schema = schema
        self._valid: set[str] = set()  # queries that passed validation against this schema

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one GraphQL request."""
        request = Request(scope, receive)
        try:
            data = await request.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            await _errors("the body is not a JSON GraphQL request", 400)(scope, receive, send)
            return
        operation, fields = root_fields(data)
        self._sandbox.requests[operation] += 1
        caller = self._sandbox.tokens.caller(request.headers.get("Authorization"))
        if caller is None and not (fields and fields <= PUBLIC_FIELDS):
            response = _errors("unauthorized", 401, {"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        names = frozenset(name.lower() for name in (operation, *fields))
        fault = self._sandbox.chaos.request_fault(names)
        if fault is not None and fault.kind != "lose_answer":
            await (await self._refuse(fault))(scope, receive, send)
            return
        context = Context(sandbox=self._sandbox, caller=caller)
        _, result = await graphql(
            self._schema,
            data,
            context_value=context,
            logger=_errors_log,
            **self._prepared(str(data.get("query") or "")),
        )
        if fault is not None:
            _log.info(
                "sandbox chaos: %s executed, its answer is lost (%s)", operation, fault.lose_with
            )
            await self._lose(fault, scope, receive, send)
            return
        await JSONResponse(result)(scope, receive, send)

    def _prepared(self, query: str) -> dict[str, Any]:
        """Parse and validate each distinct query once.

        Invalid ones go through ariadne's own validation every time, so they keep their errors.
        """
        document = parse_once(query)
        if document is None:
            return {}
        if query not in self._valid and not validate(self._schema, document):
            if len(self._valid) >= VALIDATED_LIMIT:
                self._valid.clear()
            self._valid.add(query)
        if query in self._valid:
            return {"query_document": document, "query_validator": _already_valid}
        return {"query_document": document}

    async def _hang(self) -> None:
        """Hold the request for ``hang_seconds``, or until the sandbox closes."""
        seconds = self._sandbox.chaos.knobs.hang_seconds
        try:
            async with asyncio.timeout(seconds):
                await self._sandbox.closed.wait()
        except TimeoutError:
            pass

    async def _refuse(self, fault: Fault) -> Response:
        knobs = self._sandbox.chaos.knobs
        if fault.kind == "rate_limit":
            headers = {"Retry-After": f"{knobs.retry_after:g}"}
            return _errors("sandbox chaos: rate limited", fault.status, headers)
        if fault.kind == "hang":
            await self._hang()
            return _errors("sandbox chaos: gateway time-out", fault.status)
        return _errors("sandbox chaos: server error", fault.status)

    async def _lose(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.lose_with == "drop":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            msg = "sandbox chaos: the connection was dropped after the request was executed"
            raise ConnectionAbortedError(msg)
        if fault.lose_with == "hang":
            await self._hang()
        await _errors("sandbox chaos: bad gateway", fault.status)(scope, receive, send)
