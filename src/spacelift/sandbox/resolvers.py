"""Ariadne resolvers: each GraphQL field of ``schema.graphql`` onto the sandbox.

Every resolver finds the ``Sandbox`` and the caller (``api::<key id>``) in the context. A refused
action raises ``SandboxError``, which the answer carries in its ``errors`` array (HTTP 200), as
Spacelift does.
"""

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict

from ariadne import MutationType, ObjectType, QueryType, make_executable_schema
from graphql import GraphQLResolveInfo, GraphQLSchema

from spacelift.models import RunType
from spacelift.sandbox.config import SandboxContext
from spacelift.sandbox.runs import NotFoundError, SandboxError
from spacelift.sandbox.sandbox import Sandbox
from spacelift.sandbox.search import Page, search
from spacelift.sandbox.views import (
    View,
    attachment_view,
    config_view,
    context_view,
    run_view,
    space_view,
    stack_view,
)
from spacelift.sandbox.world import StackEntry


class Context(TypedDict):
    """What every resolver gets in ``info.context``."""

    sandbox: Sandbox
    caller: str | None


Info = GraphQLResolveInfo[Context]
SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
RUNS_PAGE = 50

query = QueryType()
mutation = MutationType()
stack_type = ObjectType("Stack")
dependency_type = ObjectType("StackDependency")


def _sandbox(info: Info) -> Sandbox:
    return info.context["sandbox"]


def _caller(info: Info) -> str:
    return info.context["caller"] or "api::anonymous"


def _stack(sandbox: Sandbox, entry: StackEntry) -> View:
    return stack_view(entry, sandbox.world, sandbox.catalog)


def _context(sandbox: Sandbox, context: SandboxContext) -> View:
    return context_view(context, sandbox.world, sandbox.catalog)


def _page(page: Page[Any], view: Any) -> View:  # noqa: ANN401 - a view function of the item
    return {
        "edges": [{"cursor": cursor, "node": view(item)} for cursor, item in page.items],
        "pageInfo": {
            "endCursor": page.end_cursor,
            "hasNextPage": page.has_next_page,
            "hasPreviousPage": page.has_previous_page,
        },
    }


def _stack_fields(entry: StackEntry) -> Mapping[str, Sequence[str]]:
    spec = entry.spec
    return {
        "id": [spec.id],
        "name": [spec.display_name],
        "description": [spec.description],
        "label": list(spec.labels),
        "labels": list(spec.labels),
        "space": [spec.space],
        "branch": [spec.branch],
        "repository": [spec.repository],
        "state": [entry.state],
        "autodeploy": [str(spec.autodeploy).lower()],
    }


def _context_fields(context: SandboxContext) -> Mapping[str, Sequence[str]]:
    return {
        "id": [context.id],
        "name": [context.name or context.id],
        "description": [context.description],
        "label": list(context.labels),
        "labels": list(context.labels),
        "space": [context.space],
    }


# --- queries ------------------------------------------------------------------------------------


@query.field("stacks")
def _resolve_stacks(_: None, info: Info) -> list[View]:
    sandbox = _sandbox(info)
    return [_stack(sandbox, entry) for entry in sandbox.world.stacks.values()]


@query.field("searchStacks")
def _resolve_search_stacks(_: None, info: Info, input: View) -> View:  # noqa: A002 - Spacelift's argument name
    sandbox = _sandbox(info)
    page = search(list(sandbox.world.stacks.values()), input, _stack_fields)
    return _page(page, lambda entry: _stack(sandbox, entry))


@query.field("stack")
def _resolve_stack(_: None, info: Info, id: str) -> View | None:  # noqa: A002 - as above
    sandbox = _sandbox(info)
    entry = sandbox.world.stacks.get(id)
    return None if entry is None else _stack(sandbox, entry)


@query.field("contexts")
def _resolve_contexts(_: None, info: Info) -> list[View]:
    sandbox = _sandbox(info)
    return [_context(sandbox, context) for context in sandbox.catalog.contexts.values()]


@query.field("context")
def _resolve_context(_: None, info: Info, id: str) -> View | None:  # noqa: A002
    sandbox = _sandbox(info)
    context = sandbox.catalog.contexts.get(id)
    return None if context is None else _context(sandbox, context)


@query.field("searchContexts")
def _resolve_search_contexts(_: None, info: Info, input: View) -> View:  # noqa: A002
    sandbox = _sandbox(info)
    page = search(list(sandbox.catalog.contexts.values()), input, _context_fields)
    return _page(page, lambda context: _context(sandbox, context))


@query.field("spaces")
def _resolve_spaces(_: None, info: Info) -> list[View]:
    return [space_view(space) for space in _sandbox(info).catalog.spaces.values()]


@query.field("space")
def _resolve_space(_: None, info: Info, id: str) -> View | None:  # noqa: A002
    space = _sandbox(info).catalog.spaces.get(id)
    return None if space is None else space_view(space)


# --- nested fields ------------------------------------------------------------------------------


@stack_type.field("run")
def _resolve_stack_run(stack: View, info: Info, id: str) -> View | None:  # noqa: A002
    try:
        return run_view(_sandbox(info).run(stack["id"], id))
    except NotFoundError:
        return None


@stack_type.field("runs")
def _resolve_stack_runs(stack: View, info: Info, before: str | None = None) -> list[View]:
    """Newest first, one page, older than ``before`` when given."""
    runs = list(reversed(_sandbox(info).runs(stack["id"])))
    if before is not None:
        ids = [run.id for run in runs]
        runs = runs[ids.index(before) + 1 :] if before in ids else []
    return [run_view(run) for run in runs[:RUNS_PAGE]]


@dependency_type.field("stack")
def _resolve_dependency_stack(dependency: View, info: Info) -> View:
    sandbox = _sandbox(info)
    return _stack(sandbox, sandbox.world.entry(dependency["_stack"]))


@dependency_type.field("dependsOnStack")
def _resolve_dependency_upstream(dependency: View, info: Info) -> View:
    sandbox = _sandbox(info)
    return _stack(sandbox, sandbox.world.entry(dependency["_dependsOn"]))


# --- mutations ----------------------------------------------------------------------------------


@mutation.field("apiKeyUser")
def _resolve_api_key_user(_: None, info: Info, id: str, secret: str) -> View:  # noqa: A002
    issued = _sandbox(info).tokens.login(id, secret)
    if issued is None:
        msg = "unauthorized: the API key was refused"
        raise SandboxError(msg)
    return {"id": id, "name": id, "jwt": issued.token, "validUntil": int(issued.valid_until)}


@mutation.field("runTrigger")
def _resolve_run_trigger(
    _: None,
    info: Info,
    stack: str,
    commitSha: str | None = None,  # noqa: N803 - Spacelift's argument name
    runType: str | None = None,  # noqa: N803 - Spacelift's argument names
) -> View:
    run_type = RunType(runType or RunType.TRACKED)
    run = _sandbox(info).world.trigger(
        stack, triggered_by=_caller(info), commit_sha=commitSha, run_type=run_type
    )
    return run_view(run)


def _run_action(name: str) -> None:
    """Bind ``runConfirm`` (and the others) to the world's action of the same verb."""

    def resolve(_: None, info: Info, stack: str, run: str, note: str | None = None) -> View:
        action = getattr(_sandbox(info).world, name)
        return run_view(action(stack, run, note, _caller(info)))

    mutation.set_field(f"run{name.capitalize()}", resolve)


for _verb in ("confirm", "discard", "stop", "cancel"):
    _run_action(_verb)


@mutation.field("runRetry")
def _resolve_run_retry(_: None, info: Info, stack: str, run: str) -> View:
    return run_view(_sandbox(info).world.retry(stack, run, triggered_by=_caller(info)))


@mutation.field("contextAttach")
def _resolve_context_attach(
    _: None,
    info: Info,
    id: str,  # noqa: A002 - Spacelift's argument name
    stack: str,
    priority: int,
) -> View:
    sandbox = _sandbox(info)
    return attachment_view(sandbox.catalog.attach(id, stack, priority), sandbox.world)


@mutation.field("contextDetach")
def _resolve_context_detach(_: None, info: Info, id: str) -> View:  # noqa: A002
    sandbox = _sandbox(info)
    return attachment_view(sandbox.catalog.detach(id), sandbox.world)


@mutation.field("stackConfigAdd")
def _resolve_stack_config_add(_: None, info: Info, stack: str, config: View) -> View:
    element = _sandbox(info).catalog.add_config(
        stack,
        config["id"],
        config["type"],
        config["value"],
        write_only=config.get("writeOnly") is not False,
    )
    return config_view(element)


@functools.cache
def build_schema() -> GraphQLSchema:
    """The executable schema: ``schema.graphql`` with these resolvers (built once)."""
    return make_executable_schema(
        SCHEMA_PATH.read_text(encoding="utf-8"), query, mutation, stack_type, dependency_type
    )
