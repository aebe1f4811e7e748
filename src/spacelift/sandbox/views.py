"""The sandbox's objects as GraphQL answers: dicts keyed by the schema's camelCase fields.

Fields that need arguments or would recurse (``Stack.run``, ``Stack.runs``,
``StackDependency.stack``) are left to resolvers; the ids they need travel under ``_`` keys.
"""

from typing import Any

from spacelift.sandbox.catalog import Attachment, Catalog
from spacelift.sandbox.config import SandboxContext, SandboxSpace
from spacelift.sandbox.runs import Commit, SimRun, Transition
from spacelift.sandbox.world import ConfigElement, StackEntry, World

View = dict[str, Any]


def commit_view(commit: Commit) -> View:
    """``Commit``."""
    return {
        "hash": commit.hash,
        "authorLogin": commit.author_login,
        "authorName": commit.author_name,
        "message": commit.message,
        "timestamp": int(commit.timestamp),
        "url": commit.url,
    }


def _transition_view(entry: Transition) -> View:
    return {
        "state": entry.state.value,
        "stateVersion": entry.state_version,
        "timestamp": int(entry.timestamp),
        "terminal": entry.terminal,
        "note": entry.note,
        "username": entry.username,
    }


def run_view(run: SimRun) -> View:
    """``Run``; ``delta`` is null until the plan is done."""
    delta = run.delta
    return {
        "id": run.id,
        "state": run.state.value,
        "type": run.type.value,
        "branch": run.branch,
        "commit": commit_view(run.commit),
        "createdAt": int(run.created_at),
        "updatedAt": int(run.updated_at),
        "triggeredBy": run.triggered_by,
        "finished": run.is_terminal,
        "delta": {
            "addCount": delta.added,
            "changeCount": delta.changed,
            "deleteCount": delta.deleted,
            "resources": delta.resources,
        }
        if run.planned
        else None,
        "history": [_transition_view(entry) for entry in run.history],
    }


def space_view(space: SandboxSpace) -> View:
    """``Space``."""
    return {
        "id": space.id,
        "name": space.name or space.id,
        "description": space.description,
        "parentSpace": space.parent_space,
        "inheritEntities": space.inherit_entities,
        "labels": list(space.labels),
    }


def config_view(element: ConfigElement) -> View:
    """``ConfigElement``; a write-only value is never shown."""
    return {
        "id": element.id,
        "type": element.type,
        "value": None if element.write_only else element.value,
        "writeOnly": element.write_only,
        "createdAt": int(element.created_at),
    }


def attachment_view(attachment: Attachment, world: World) -> View:
    """``ContextStackAttachment``."""
    return {
        "id": attachment.id,
        "contextId": attachment.context_id,
        "stackId": attachment.stack_id,
        "stackName": world.entry(attachment.stack_id).spec.display_name,
        "priority": attachment.priority,
        "isAutoattached": False,
    }


def context_view(context: SandboxContext, world: World, catalog: Catalog) -> View:
    """``Context``."""
    attachments = catalog.attachments_of(context_id=context.id)
    return {
        "id": context.id,
        "name": context.name or context.id,
        "description": context.description,
        "labels": list(context.labels),
        "space": context.space,
        "attachedStacks": [attachment_view(item, world) for item in attachments],
    }


def _dependency(stack_id: str, depends_on: str) -> View:
    return {"id": f"{stack_id}-{depends_on}", "_stack": stack_id, "_dependsOn": depends_on}


def stack_view(entry: StackEntry, world: World, catalog: Catalog) -> View:
    """``Stack`` without its runs."""
    spec = entry.spec
    dependents = [
        other.spec.id for other in world.stacks.values() if spec.id in other.spec.depends_on
    ]
    return {
        "id": spec.id,
        "name": spec.display_name,
        "description": spec.description,
        "labels": list(spec.labels),
        "branch": spec.branch,
        "repository": spec.repository,
        "state": entry.state,
        "space": spec.space,
        "spaceDetails": space_view(catalog.space(spec.space)),
        "trackedCommit": commit_view(entry.tracked_commit),
        "autodeploy": spec.autodeploy,
        "administrative": False,
        "isDisabled": spec.is_disabled,
        "lockedBy": None,
        "outputs": [
            {"id": key, "value": value, "sensitive": False} for key, value in spec.outputs.items()
        ],
        "dependsOn": [_dependency(spec.id, upstream) for upstream in spec.depends_on],
        "isDependedOnBy": [_dependency(other, spec.id) for other in dependents],
        "config": [config_view(element) for element in entry.config.values()],
        "attachedContexts": [
            attachment_view(item, world) for item in catalog.attachments_of(stack_id=spec.id)
        ],
    }
