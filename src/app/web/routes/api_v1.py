"""``/api/v1``: the dependency graph, plans, and chains (start, list, read, cancel, approve)."""

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from app.core.errors import NotFoundError
from app.core.logs import bind_context
from app.stackfile import UnknownStackError, to_json, to_mermaid
from app.stackfile.models import STACK_ID_MAX
from app.web.api_models import (
    ApproveOut,
    CancelOut,
    ChainList,
    ChainOut,
    ChainStarted,
    ErrorOut,
    GraphOut,
    PlanOut,
    StartChainIn,
)
from app.web.auth import API_PREFIX
from app.web.deps import ChainsDep, GraphsDep, require_token
from temporal.inputs import ChainStatus


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    # Every route: 401 token; 400 Host and 403 client or Origin (no token); 408 and 413 body.
    return {code: {"model": ErrorOut} for code in (400, 401, 403, 408, 413, 503, *codes)}


router = APIRouter(
    prefix=API_PREFIX, tags=["api"], dependencies=[Depends(require_token)], responses=_errors()
)


class GraphFormat(StrEnum):
    """How ``GET /api/v1/graph`` answers."""

    JSON = "json"
    MERMAID = "mermaid"


@router.get(
    "/graph",
    response_model=GraphOut,
    responses={
        200: {"content": {"text/plain": {"example": "flowchart TD\n  network --> database\n"}}}
    },
)
async def get_graph(
    graphs: GraphsDep,
    output_format: Annotated[GraphFormat, Query(alias="format")] = GraphFormat.JSON,
) -> Any:  # noqa: ANN401 - JSON or Mermaid text
    """The dependency graph as JSON, or as Mermaid text with ``?format=mermaid``."""
    graph = graphs.graph()
    if output_format is GraphFormat.MERMAID:
        return PlainTextResponse(to_mermaid(graph))
    return to_json(graph)


@router.get("/plan", response_model=PlanOut, responses=_errors(404))
async def get_plan(
    graphs: GraphsDep,
    stack: Annotated[str, Query(max_length=STACK_ID_MAX, description="The root stack.")],
    include_root: bool = False,  # noqa: FBT001, FBT002 - a query flag
) -> dict[str, Any]:
    """The waves a chain from ``stack`` would run."""
    try:
        return graphs.graph().plan(stack, include_root=include_root).to_api()
    except UnknownStackError as error:
        raise NotFoundError(str(error)) from None


@router.post("/chains", status_code=202, responses=_errors(404, 422))
async def start_chain(req: StartChainIn, chains: ChainsDep) -> ChainStarted:
    """Start a manual chain ``chain-<stack>-manual-<id>`` from ``stack``."""
    bind_context(stack_id=req.stack)
    chain_id = await chains.start(req.stack, include_root=req.include_root)
    bind_context(chain_id=chain_id)
    return ChainStarted(chain_id=chain_id)


@router.get("/chains", response_model=ChainList)
async def list_chains(
    chains: ChainsDep,
    status: ChainStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """This deployment's chains, newest first, optionally of one status."""
    return {"chains": await chains.list_chains(status, limit)}


@router.get("/chains/{chain_id}", response_model=ChainOut, responses=_errors(404))
async def get_chain(chain_id: str, chains: ChainsDep) -> dict[str, Any]:
    """The chain and each of its stacks: state, latest run, attempts, upstreams."""
    bind_context(chain_id=chain_id)
    return await chains.get(chain_id)


@router.post(
    "/chains/{chain_id}/cancel",
    status_code=202,
    responses=_errors(404, 409),
)
async def cancel_chain(chain_id: str, chains: ChainsDep) -> CancelOut:
    """Stop the chain: runs not yet started are not started, runs in flight are stopped."""
    bind_context(chain_id=chain_id)
    await chains.cancel(chain_id)
    return CancelOut(chain_id=chain_id)


@router.post(
    "/chains/{chain_id}/stacks/{stack}/approve",
    status_code=202,
    responses=_errors(404, 409),
)
async def approve_stack(chain_id: str, stack: str, chains: ChainsDep) -> ApproveOut:
    """Confirm the stack's run that waits in UNCONFIRMED (409 if it does not wait)."""
    bind_context(chain_id=chain_id, stack_id=stack)
    run_id = await chains.approve(chain_id, stack)
    bind_context(run_id=run_id)
    return ApproveOut(chain_id=chain_id, stack=stack, run_id=run_id)
