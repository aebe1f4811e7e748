"""Contexts, spaces, context attachments and stack environment: the account's static side."""

from collections.abc import Mapping
from dataclasses import dataclass

from spacelift.sandbox.config import SandboxConfig, SandboxContext, SandboxSpace
from spacelift.sandbox.runs import ConflictError, NotFoundError
from spacelift.sandbox.runtime import Clock
from spacelift.sandbox.world import ConfigElement, StackEntry

CONFIG_TYPES = frozenset({"ENVIRONMENT_VARIABLE", "FILE_MOUNT"})


@dataclass(frozen=True)
class Attachment:
    """A context attached to a stack; ``id`` is what ``contextDetach`` takes."""

    id: str
    context_id: str
    stack_id: str
    priority: int


class Catalog:
    """Everything but runs: contexts and their attachments, spaces, stack environment."""

    def __init__(
        self, config: SandboxConfig, stacks: Mapping[str, StackEntry], clock: Clock
    ) -> None:
        self._stacks = stacks
        self._clock = clock
        self.contexts = {context.id: context for context in config.contexts}
        self.spaces = {space.id: space for space in config.all_spaces}
        self.attachments: dict[str, Attachment] = {}

    def context(self, context_id: str) -> SandboxContext:
        """The context ``context_id``; ``NotFoundError`` when there is none."""
        if (context := self.contexts.get(context_id)) is None:
            raise NotFoundError(f"context {context_id!r} not found")
        return context

    def space(self, space_id: str) -> SandboxSpace:
        """The space ``space_id``; ``NotFoundError`` when there is none."""
        if (space := self.spaces.get(space_id)) is None:
            raise NotFoundError(f"space {space_id!r} not found")
        return space

    def _stack(self, stack_id: str) -> StackEntry:
        if (entry := self._stacks.get(stack_id)) is None:
            raise NotFoundError(f"stack {stack_id!r} not found")
        return entry

    def attach(self, context_id: str, stack_id: str, priority: int) -> Attachment:
        """``contextAttach``: attach a context to a stack, once."""
        self.context(context_id)
        self._stack(stack_id)
        attachment_id = f"{context_id}-{stack_id}"
        if attachment_id in self.attachments:
            raise ConflictError(f"context {context_id!r} is already attached to {stack_id!r}")
        attachment = Attachment(attachment_id, context_id, stack_id, priority)
        self.attachments[attachment_id] = attachment
        return attachment

    def detach(self, attachment_id: str) -> Attachment:
        """``contextDetach``: remove an attachment by its id."""
        if (attachment := self.attachments.pop(attachment_id, None)) is None:
            raise NotFoundError(f"context attachment {attachment_id!r} not found")
        return attachment

    def attachments_of(self, *, stack_id: str = "", context_id: str = "") -> list[Attachment]:
        """The attachments of one stack or one context, by priority."""
        found = [
            attachment
            for attachment in self.attachments.values()
            if stack_id in {"", attachment.stack_id} and context_id in {"", attachment.context_id}
        ]
        return sorted(found, key=lambda attachment: (attachment.priority, attachment.id))

    def add_config(
        self, stack_id: str, name: str, kind: str, value: str, *, write_only: bool
    ) -> ConfigElement:
        """``stackConfigAdd``: set (add or replace) an environment variable or mounted file."""
        entry = self._stack(stack_id)
        if kind not in CONFIG_TYPES:
            raise ConflictError(f"config type {kind!r} is not one of {sorted(CONFIG_TYPES)}")
        element = ConfigElement(name, kind, value, write_only, self._clock.now())
        entry.config[name] = element
        return element
