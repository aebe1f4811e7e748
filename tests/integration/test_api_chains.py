"""The operator API on a real Temporal: start, list, read, approve and cancel chains over HTTP."""

import asyncio
from pathlib import Path

import httpx

from tests.integration.api_support import AUTH, api_for, chain_ended, chain_when
from tests.integration.conftest import Engine, eventually


async def start(http: httpx.AsyncClient, stack: str, *, include_root: bool = False) -> str:
    body = {"stack": stack, "include_root": include_root}
    answer = await http.post("/api/v1/chains", json=body, headers=AUTH)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["chain_id"])


async def listed(http: httpx.AsyncClient, status: str | None = None) -> list[str]:
    params = {"status": status} if status else {}
    answer = await http.get("/api/v1/chains", params=params, headers=AUTH)
    assert answer.status_code == 200
    return [chain["chain_id"] for chain in answer.json()["chains"]]


async def test_manual_chain_runs_and_is_listed(engine: Engine, tmp_path: Path) -> None:
    """Manual chains start, list newest first, read running and ended, and filter by status."""
    async with api_for(engine, tmp_path) as api:
        first = await start(api.http, "network")
        second = await start(api.http, "network", include_root=True)
        assert first.startswith("chain-network-manual-")

        async def newest_first() -> bool:
            return await listed(api.http) == [second, first]

        await eventually(newest_first)  # the visibility store catches up

        chain = await chain_ended(api.http, second)
        assert chain["status"] == "succeeded"
        assert chain["root_run_id"] is None
        assert chain["stacks"]["network"]["attempts"] == 1
        assert chain["stacks"]["app"]["depends_on"] == ["database"]
        assert chain["finished_at"] is not None
        assert (await chain_ended(api.http, first))["status"] == "succeeded"

        async def both_succeeded() -> bool:
            return set(await listed(api.http, "succeeded")) == {first, second}

        await eventually(both_succeeded)
        assert await listed(api.http, "running") == []
        metrics = (await api.http.get("/metrics")).text
        assert 'stackchain_chains{status="succeeded"} 2.0' in metrics
        assert 'stackchain_chains_started_total{origin="manual"} 2.0' in metrics
        assert 'stackchain_chains_finished_total{status="succeeded"} 2.0' in metrics
        assert (await api.http.get("/readyz")).status_code == 200


async def test_approve_confirms_the_waiting_run(engine: Engine, tmp_path: Path) -> None:
    """Approve confirms the waiting run (409 for a stack not waiting, 404 for one not in it)."""
    engine.spacelift.outcomes["database"] = ["UNCONFIRMED"]
    async with api_for(engine, tmp_path) as api:
        chain_id = await start(api.http, "network")
        await chain_when(
            api.http,
            chain_id,
            lambda c: c["stacks"]["database"]["state"] == "awaiting_confirmation",
        )
        base = f"/api/v1/chains/{chain_id}/stacks"
        early = await api.http.post(f"{base}/app/approve", headers=AUTH)
        assert early.status_code == 409
        assert "not awaiting confirmation" in early.json()["detail"]
        assert (await api.http.post(f"{base}/lonely/approve", headers=AUTH)).status_code == 404
        assert engine.spacelift.confirms == []

        approved = await api.http.post(f"{base}/database/approve", headers=AUTH)
        assert approved.status_code == 202
        run_id = approved.json()["run_id"]
        chain = await chain_ended(api.http, chain_id)
    assert chain["status"] == "succeeded"
    assert engine.spacelift.confirms == [run_id]


async def test_cancel_stops_the_chain(engine: Engine, tmp_path: Path) -> None:
    """Cancel stops the chain and its run; acting on the ended chain is 409, unknown ones 404."""
    engine.spacelift.outcomes["database"] = ["HANG"]
    async with api_for(engine, tmp_path) as api:
        chain_id = await start(api.http, "network")
        await chain_when(
            api.http, chain_id, lambda c: c["stacks"]["database"]["state"] == "running"
        )
        canceled = await api.http.post(f"/api/v1/chains/{chain_id}/cancel", headers=AUTH)
        assert canceled.status_code == 202
        chain = await chain_ended(api.http, chain_id)
        assert chain["status"] == "canceled"
        assert chain["stacks"]["app"]["state"] == "canceled"
        again = await api.http.post(f"/api/v1/chains/{chain_id}/cancel", headers=AUTH)
        assert again.status_code == 409
        late = await api.http.post(
            f"/api/v1/chains/{chain_id}/stacks/database/approve", headers=AUTH
        )
        assert late.status_code == 409
        for path in ("chain-network-nope", "stack-network", "chain-x%2F..%2Fy"):
            assert (await api.http.get(f"/api/v1/chains/{path}", headers=AUTH)).status_code == 404
        cancel_unknown = await api.http.post("/api/v1/chains/chain-nope/cancel", headers=AUTH)
        assert cancel_unknown.status_code == 404
    (run,) = engine.spacelift.runs_of("database")
    await asyncio.wait_for(run.done.wait(), 15)  # the lane stops it after the chain let go
    assert engine.spacelift.stops == [run.id]


async def test_a_chain_of_another_deployment_is_not_found(engine: Engine, tmp_path: Path) -> None:
    """Chains are per task queue: another deployment's chain id is 404 here."""
    async with api_for(engine, tmp_path) as api:
        chain_id = await start(api.http, "network")
        await chain_ended(api.http, chain_id)
    async with api_for(engine, tmp_path, task_queue="elsewhere") as other:
        answer = await other.http.get(f"/api/v1/chains/{chain_id}", headers=AUTH)
        assert answer.status_code == 404
        assert chain_id not in await listed(other.http)


async def test_a_terminated_chain_is_listed_as_canceled_not_running(
    engine: Engine, tmp_path: Path
) -> None:
    """A chain terminated by hand in Temporal still says 'running' in its search attribute;
    the listing's filter and its rows agree that it is canceled."""
    engine.spacelift.outcomes["database"] = ["HANG"]
    async with api_for(engine, tmp_path) as api:
        chain_id = await start(api.http, "network")
        await chain_when(
            api.http, chain_id, lambda c: c["stacks"]["database"]["state"] == "running"
        )
        await engine.client.get_workflow_handle(chain_id).terminate(reason="test: by hand")

        async def listed(status: str) -> list[str]:
            answer = await api.http.get("/api/v1/chains", params={"status": status}, headers=AUTH)
            return [row["chain_id"] for row in answer.json()["chains"]]

        async def shown_canceled() -> bool:
            return chain_id in await listed("canceled")

        await eventually(shown_canceled)
        assert chain_id not in await listed("running")
