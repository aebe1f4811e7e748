"""How the web server and the activities reach workflows: start chains, signal lanes.

Workflows are named by type string here so this module does not import them (the workflows
import the activities, which import this).
"""

import json
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

from temporal import search_attributes
from temporal.inputs import (
    CHAIN_WORKFLOW,
    LANE_WORKFLOW,
    RECONCILER_WORKFLOW,
    ChainInput,
    ChainStatus,
    LaneInput,
    ReconcileRequest,
    RunEvent,
    RunRequest,
    lane_id,
)

EVENT_MAX_AGE = timedelta(hours=6)
"""``STACKCHAIN_EVENT_MAX_AGE``'s default: an older run event never starts a chain."""

_PYDANTIC_JSON = PydanticJSONPlainPayloadConverter()
"""One for the whole process, so its cache of pydantic ``TypeAdapter``s is shared."""


class SharedAdapterPayloadConverter(CompositePayloadConverter):
    """The SDK's pydantic payload converter, but with one adapter cache for every workflow.

    The worker makes a payload converter per workflow run; with the SDK's
    ``PydanticPayloadConverter`` each came with an empty cache, so every lane start,
    continue-as-new and cache eviction built the ``TypeAdapter`` of each input and signal type
    again (py-spy: the biggest single cost in the worker's payload decoding).
    """

    def __init__(self) -> None:
        """The default encodings, with pydantic's JSON in place of the SDK's."""
        super().__init__(
            *(
                _PYDANTIC_JSON if isinstance(converter, JSONPlainPayloadConverter) else converter
                for converter in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


DATA_CONVERTER = DataConverter(payload_converter_class=SharedAdapterPayloadConverter)
"""JSON payloads decoded by pydantic (in Rust): a 2,000-stack chain's continue-as-new input
decodes in ~25 ms instead of ~600 ms with the SDK's default dataclass decoding, which under the
workflow sandbox crossed the 2 s deadlock detector. It reads the default converter's JSON too."""


async def connect(address: str, **options: Any) -> Client:  # noqa: ANN401 - Client.connect's options
    """A Temporal client that speaks stackchain's payloads; every client must come from here."""
    return await Client.connect(address, data_converter=DATA_CONVERTER, **options)


def root_chain_id(stack_id: str, run_id: str) -> str:
    """The id of the chain a root run starts: duplicates of the same event collapse into it."""
    return f"chain-{stack_id}-{run_id}"


def manual_chain_id(stack_id: str, suffix: str) -> str:
    """The id of a chain an operator starts."""
    return f"chain-{stack_id}-manual-{suffix}"


async def signal_lane(
    client: Client,
    *,
    task_queue: str,
    stack_id: str,
    poll_interval: timedelta,
    signal: str,
    arg: RunEvent | RunRequest,
    event_max_age: timedelta = EVENT_MAX_AGE,
) -> None:
    """Signal a stack's lane, starting it if it is not running (signal-with-start).

    Needs only the Temporal server, not a worker: the signal waits in the lane's history.
    """
    await client.start_workflow(
        LANE_WORKFLOW,
        LaneInput(
            stack_id=stack_id,
            poll_interval_seconds=poll_interval.total_seconds(),
            event_max_age_seconds=event_max_age.total_seconds(),
        ),
        id=lane_id(task_queue, stack_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal=signal,
        start_signal_args=[arg],
        static_summary=f"lane of stack {stack_id}",
    )


async def deliver_run_event(
    client: Client,
    event: RunEvent,
    *,
    task_queue: str,
    poll_interval: timedelta,
    event_max_age: timedelta = EVENT_MAX_AGE,
) -> None:
    """Hand a Spacelift run event to its stack's lane, as a webhook does."""
    await signal_lane(
        client,
        task_queue=task_queue,
        stack_id=event.stack_id,
        poll_interval=poll_interval,
        event_max_age=event_max_age,
        signal="run_event",
        arg=event,
    )


def reconciler_id(task_queue: str) -> str:
    """The workflow id of the deployment's one root reconciler."""
    return f"reconciler@{task_queue}"


async def ensure_reconciler(client: Client, *, task_queue: str) -> None:
    """Start the reconciler that finds roots whose webhook was lost, unless it runs already."""
    await client.start_workflow(
        RECONCILER_WORKFLOW,
        ReconcileRequest(),
        id=reconciler_id(task_queue),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="finds finished root runs whose webhook never came",
    )


SEARCH_ATTRIBUTE_BYTES = 2_048
"""Temporal's default limit on one search attribute value."""


def listed_stacks(req: ChainInput) -> list[str]:
    """The stack ids ``StackchainStacks`` holds: the root first, then as many as fit the limit."""
    stacks = [req.root_stack, *(stack.id for stack in req.stacks if stack.id != req.root_stack)]
    listed: list[str] = []
    size = 2  # the brackets of the JSON list
    for stack_id in stacks:
        size += len(json.dumps(stack_id)) + 1
        if size > SEARCH_ATTRIBUTE_BYTES:
            break
        listed.append(stack_id)
    return listed


async def start_chain(
    client: Client, *, task_queue: str, chain_id: str, req: ChainInput
) -> WorkflowHandle[object, object]:
    """Start a chain; a chain already started under the same id is returned, not duplicated.

    A chain too large for ``StackchainStacks`` lists the stacks that fit, and says so in its
    summary.
    """
    listed = listed_stacks(req)
    total = len(req.stacks) + (0 if any(s.id == req.root_stack for s in req.stacks) else 1)
    partial = "" if len(listed) == total else f" (search lists {len(listed)})"
    commit = f" @ {req.root_commit[:12]}" if req.root_commit else ""
    return await client.start_workflow(
        CHAIN_WORKFLOW,
        req,
        id=chain_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(search_attributes.ROOT_STACK, req.root_stack),
                SearchAttributePair(search_attributes.STACKS, listed),
                SearchAttributePair(search_attributes.STATUS, ChainStatus.RUNNING.value),
            ]
        ),
        static_summary=f"{req.root_stack}{commit}: {len(req.stacks)} stacks{partial}",
        static_details=f"root run {req.root_run_id or 'manual'}",
    )
