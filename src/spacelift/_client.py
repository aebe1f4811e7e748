"""The async Spacelift client: one method per GraphQL operation, typed results."""

import logging
from typing import Any

from gql import GraphQLRequest

from spacelift import _operations as ops
from spacelift._base import BaseClient
from spacelift._parsing import StackPage, field, parse, parse_list
from spacelift._transport import Where
from spacelift.errors import (
    ContextNotFoundError,
    GraphQLError,
    RunNotFoundError,
    SpaceNotFoundError,
    StackNotFoundError,
    UnexpectedResponseError,
)
from spacelift.models import Context, ContextAttachment, Run, RunType, Space, Stack

PAGE_SIZE = 50
_log = logging.getLogger("spacelift")


def _missing_field(exc: GraphQLError, name: str) -> bool:
    """Whether the server said that the field ``name`` does not exist in its schema."""
    hints = ("cannot query field", "does not exist", "unknown field", "not defined")
    return any(
        name.lower() in text and any(hint in text for hint in hints)
        for text in (message.lower() for message in exc.messages)
    )


def _where(operation: str, stack_id: str | None = None) -> Where:
    return Where(operation=operation, stack_id=stack_id)


class SpaceliftClient(BaseClient):
    """Async client for Spacelift's GraphQL API.

    Give either ``api_token`` (a ready bearer token) or ``api_key_id`` and ``api_key_secret``,
    which are exchanged for a JWT that is refreshed before it expires. Use it as an async context
    manager, or call ``aclose()`` when done. Every failure is a ``spacelift.errors.SpaceliftError``;
    the client never retries, apart from one new log-in after a 401.
    """

    async def _stack(
        self, request: GraphQLRequest, variables: dict[str, Any], where: Where
    ) -> object:
        """The ``stack`` object of the answer; ``StackNotFoundError`` when it is null."""
        stack = field(await self._call(request, variables, where), "stack", **where)
        if stack is None:
            raise StackNotFoundError(f"no stack {where['stack_id']!r}", **where)
        return stack

    # --- stacks -------------------------------------------------------------------------------

    async def list_stacks(self) -> list[Stack]:
        """Every stack the credentials can see (``searchStacks``, or ``stacks`` on older APIs)."""
        where = _where("list_stacks")
        try:
            return await self._search_stacks(where)
        except GraphQLError as exc:
            if not _missing_field(exc, "searchStacks"):
                raise
        _log.info("spacelift: searchStacks is not available, listing with stacks")
        data = await self._call(ops.STACKS, {}, where)
        return parse_list(Stack, field(data, "stacks", **where), path="stacks", **where)

    async def _search_stacks(self, where: Where) -> list[Stack]:
        stacks: list[Stack] = []
        cursor: str | None = None
        while True:
            variables = {"input": {"first": PAGE_SIZE, "after": cursor}}
            data = await self._call(ops.SEARCH_STACKS, variables, where)
            answer = field(data, "searchStacks", **where)
            page = parse(StackPage, answer, path="searchStacks", **where)
            stacks.extend(edge.node for edge in page.edges)
            if not page.page_info.has_next_page:
                return stacks
            if page.page_info.end_cursor in {None, cursor}:
                message = "searchStacks says there is a next page but gives no new cursor"
                raise UnexpectedResponseError(message, **where)
            cursor = page.page_info.end_cursor

    async def get_stack(self, stack_id: str) -> Stack:
        """One stack; ``StackNotFoundError`` when there is none with this id."""
        where = _where("get_stack", stack_id)
        stack = await self._stack(ops.STACK, {"id": stack_id}, where)
        return parse(Stack, stack, path="stack", **where)

    async def set_stack_env_var(
        self, stack_id: str, name: str, value: str, *, write_only: bool = True
    ) -> None:
        """Set (add or replace) an environment variable of a stack (``stackConfigAdd``)."""
        where = _where("set_stack_env_var", stack_id)
        config = {"id": name, "type": "ENVIRONMENT_VARIABLE", "value": value}
        variables = {"stack": stack_id, "config": {**config, "writeOnly": write_only}}
        redacted = (value,) if write_only and value else ()
        data = await self._call(ops.STACK_CONFIG_ADD, variables, where, redacted)
        field(data, "stackConfigAdd", **where)

    # --- runs ---------------------------------------------------------------------------------

    async def trigger_run(self, stack_id: str, *, commit_sha: str | None = None) -> Run:
        """Start a TRACKED run, of ``commit_sha`` or else of the stack's tracked commit."""
        where = _where("trigger_run", stack_id)
        variables = {"stack": stack_id, "commitSha": commit_sha, "runType": RunType.TRACKED.value}
        data = await self._call(ops.RUN_TRIGGER, variables, where)
        return parse(Run, field(data, "runTrigger", **where), path="runTrigger", **where)

    async def get_run(self, stack_id: str, run_id: str) -> Run:
        """One run; ``StackNotFoundError`` or ``RunNotFoundError`` when either is missing."""
        where = _where("get_run", stack_id)
        stack = await self._stack(ops.RUN, {"stack": stack_id, "run": run_id}, where)
        run = field(stack, "run", **where)
        if run is None:
            raise RunNotFoundError(f"no run {run_id!r}", **where)
        return parse(Run, run, path="stack.run", **where)

    async def list_runs(self, stack_id: str, *, before: str | None = None) -> list[Run]:
        """The stack's recent runs (one page, older than ``before`` if given), newest first."""
        where = _where("list_runs", stack_id)
        stack = await self._stack(ops.RUNS, {"stack": stack_id, "before": before}, where)
        runs = parse_list(Run, field(stack, "runs", **where), path="stack.runs", **where)
        return sorted(runs, key=lambda run: run.created_at, reverse=True)

    async def _act(
        self, request: GraphQLRequest, stack_id: str, run_id: str, note: str | None, operation: str
    ) -> Run:
        where = _where(operation, stack_id)
        data = await self._call(request, {"stack": stack_id, "run": run_id, "note": note}, where)
        name = request.operation_name or ""
        key = name[0].lower() + name[1:]
        return parse(Run, field(data, key, **where), path=key, **where)

    async def confirm_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:
        """Confirm a run waiting in UNCONFIRMED, so it applies."""
        return await self._act(ops.RUN_CONFIRM, stack_id, run_id, note, "confirm_run")

    async def discard_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:
        """Discard a run waiting in UNCONFIRMED."""
        return await self._act(ops.RUN_DISCARD, stack_id, run_id, note, "discard_run")

    async def stop_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:
        """Stop a run that is already running."""
        return await self._act(ops.RUN_STOP, stack_id, run_id, note, "stop_run")

    async def cancel_run(self, stack_id: str, run_id: str, *, note: str | None = None) -> Run:
        """Cancel a run that has not started yet."""
        return await self._act(ops.RUN_CANCEL, stack_id, run_id, note, "cancel_run")

    # --- contexts and spaces ------------------------------------------------------------------

    async def list_contexts(self) -> list[Context]:
        """Every context the credentials can see."""
        where = _where("list_contexts")
        data = await self._call(ops.CONTEXTS, {}, where)
        return parse_list(Context, field(data, "contexts", **where), path="contexts", **where)

    async def get_context(self, context_id: str) -> Context:
        """One context; ``ContextNotFoundError`` when there is none with this id."""
        where = _where("get_context")
        context = field(
            await self._call(ops.CONTEXT, {"id": context_id}, where), "context", **where
        )
        if context is None:
            raise ContextNotFoundError(f"no context {context_id!r}", **where)
        return parse(Context, context, path="context", **where)

    async def attach_context(
        self, context_id: str, stack_id: str, *, priority: int = 0
    ) -> ContextAttachment:
        """Attach a context to a stack; the attachment's id is what ``detach_context`` takes."""
        where = _where("attach_context", stack_id)
        variables = {"id": context_id, "stack": stack_id, "priority": priority}
        data = await self._call(ops.CONTEXT_ATTACH, variables, where)
        answer = field(data, "contextAttach", **where)
        return parse(ContextAttachment, answer, path="contextAttach", **where)

    async def detach_context(self, attachment_id: str) -> None:
        """Remove a context attachment, by the attachment's id."""
        where = _where("detach_context")
        field(
            await self._call(ops.CONTEXT_DETACH, {"id": attachment_id}, where),
            "contextDetach",
            **where,
        )

    async def list_spaces(self) -> list[Space]:
        """Every space the credentials can see."""
        where = _where("list_spaces")
        data = await self._call(ops.SPACES, {}, where)
        return parse_list(Space, field(data, "spaces", **where), path="spaces", **where)

    async def get_space(self, space_id: str) -> Space:
        """One space; ``SpaceNotFoundError`` when there is none with this id."""
        where = _where("get_space")
        space = field(await self._call(ops.SPACE, {"id": space_id}, where), "space", **where)
        if space is None:
            raise SpaceNotFoundError(f"no space {space_id!r}", **where)
        return parse(Space, space, path="space", **where)
