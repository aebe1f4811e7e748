"""The whole system as users run it: real processes, real Temporal, the sandbox standing in for
Spacelift, webhooks signed and delivered over HTTP."""

import itertools
from functools import partial
from pathlib import Path

from spacelift.sandbox import Chaos
from temporal.devserver import DevServer
from tests.e2e.conftest import System, SystemFactory, until
from tests.integration.conftest import free_port

EXAMPLE = (Path(__file__).parents[2] / "config" / "stacks.yaml").read_text()

BRANCHES = """
version: 1
chain: {max_parallel: 4, run_timeout: 5m}
defaults: {retries: 0, retry_backoff: 200ms, confirm: auto}
stacks:
  network: {}
  database: {depends_on: [network]}
  app: {depends_on: [database]}
  cache: {depends_on: [network]}
  worker: {depends_on: [cache]}
"""


async def test_a_push_runs_the_example_chain_with_an_approval(system: SystemFactory) -> None:
    """A push to network runs every descendant in the example file; database waits for an
    approval through the API, then the chain finishes with one run per stack."""
    async with system(EXAMPLE) as sys_:
        root, chain_id = await _push_until_confirmation(sys_, "network", "database")
        approved = await sys_.http.post(f"/api/v1/chains/{chain_id}/stacks/database/approve")
        assert approved.status_code == 202
        chain = await sys_.chain(chain_id)

    assert chain["status"] == "succeeded"
    assert chain["stacks"]["network"] == {**chain["stacks"]["network"], "run_id": root}
    descendants = {"dns", "database", "cache", "queue", "app-api", "app-worker", "app-web",
                   "monitoring", "alerts"}  # fmt: skip
    assert {s for s, v in chain["stacks"].items() if v["state"] == "succeeded"} >= descendants
    assert all(count == 1 for count in sys_.runs_per_stack().values())
    assert "storage" not in sys_.runs_per_stack()  # not below network


async def test_a_failing_branch_leaves_the_other_to_finish(system: SystemFactory) -> None:
    """database fails: app is skipped, the cache branch finishes."""
    async with system(BRANCHES) as sys_:
        sys_.sandbox.set_outcomes("database", ["FAILED"])
        root = sys_.push("network")
        chain = await sys_.chain(f"chain-network-{root}")

    states = {stack: info["state"] for stack, info in chain["stacks"].items()}
    assert states == {
        "network": "succeeded",
        "database": "failed",
        "app": "skipped",
        "cache": "succeeded",
        "worker": "succeeded",
    }
    assert chain["status"] == "failed"


async def test_a_retry_that_succeeds_carries_on(system: SystemFactory) -> None:
    """database fails once, is re-run, and app runs after the successful re-run."""
    async with system(BRANCHES.replace("retries: 0", "retries: 1")) as sys_:
        sys_.sandbox.set_outcomes("database", ["FAILED", "FINISHED"])
        root = sys_.push("network")
        chain = await sys_.chain(f"chain-network-{root}")

    assert chain["status"] == "succeeded"
    assert chain["stacks"]["database"]["attempts"] == 2
    first, second = sys_.sandbox.runs("database")
    (app,) = sys_.sandbox.runs("app")
    assert str(first.state) == "FAILED"
    assert app.created_at >= second.history[-1].timestamp


async def test_cancel_stops_the_run_in_flight(system: SystemFactory) -> None:
    """Cancelling a chain stops its run in Spacelift and starts nothing more."""
    waits = BRANCHES.replace("confirm: auto", "confirm: wait")
    async with system(waits) as sys_:
        _, chain_id = await _push_until_confirmation(sys_, "network", "database")
        canceled = await sys_.http.post(f"/api/v1/chains/{chain_id}/cancel")
        assert canceled.status_code == 202
        chain = await sys_.chain(chain_id)
        await until(lambda: all(r.is_terminal for r in sys_.sandbox.runs()), 10, "runs ending")

    assert chain["status"] == "canceled"
    assert {str(run.state) for run in sys_.sandbox.runs("database")} == {"DISCARDED"}
    assert not sys_.sandbox.runs("app")


async def test_chains_end_right_through_lost_duplicated_and_reordered_webhooks(
    system: SystemFactory,
) -> None:
    """With 20% of webhooks dropped and others duplicated and reordered, three chains from
    three pushes all finish, and no stack is run twice at once."""
    chaos = Chaos(
        webhook_drop_rate=0.2,
        webhook_duplicate_rate=0.2,
        webhook_reorder_rate=0.2,
        seed=7,
    )
    async with system(BRANCHES, chaos=chaos) as sys_:
        roots = []
        for _ in range(3):
            roots.append(sys_.push("network"))
            await until(lambda: sys_.sandbox.runs("network")[-1].is_terminal, 10, "the push")
        chains = [await sys_.chain(f"chain-network-{root}", within=60) for root in roots]

    assert [chain["status"] for chain in chains] == ["succeeded"] * 3
    assert any(d.outcome == "dropped" for d in sys_.sandbox.deliveries)
    for stack in ("database", "app", "cache", "worker"):
        runs = sys_.sandbox.runs(stack)
        assert 1 <= len(runs) <= 3
        for earlier, later in itertools.pairwise(runs):  # never two runs of a stack at once
            assert earlier.is_terminal
            assert later.created_at >= earlier.history[-1].timestamp


async def test_the_worker_killed_twice_mid_chain_runs_no_stack_twice(
    system: SystemFactory,
) -> None:
    """SIGKILL the worker twice while runs are in flight; a new worker finishes the chain and
    every stack ran exactly once."""
    async with system(BRANCHES) as sys_:
        root = sys_.push("network")
        chain_id = f"chain-network-{root}"
        for stack in ("database", "app"):
            await until(partial(sys_.sandbox.runs, stack), 30, f"a run of {stack}")
            sys_.kill("worker")
            sys_.spawn("worker", "worker")
        chain = await sys_.chain(chain_id, within=90)

    assert chain["status"] == "succeeded"
    assert sys_.runs_per_stack() == {"network": 1, "database": 1, "app": 1, "cache": 1,
                                     "worker": 1}  # fmt: skip


async def _push_until_confirmation(sys_: System, root_stack: str, stack: str) -> tuple[str, str]:
    """Push ``root_stack``; once ``stack``'s run waits for a confirmation, (root run, chain id)."""
    root = sys_.push(root_stack)
    chain_id = f"chain-{root_stack}-{root}"

    async def awaiting() -> bool:
        return await sys_.stack_state(chain_id, stack) == "awaiting_confirmation"

    await until(awaiting)
    return root, chain_id


async def test_a_chain_survives_the_temporal_server_restarting(
    system: SystemFactory, tmp_path: Path
) -> None:
    """Stop Temporal mid-chain, let a run finish in Spacelift while it is down, and start it
    again on its SQLite file: the chain carries on and finishes, no stack run twice."""
    waits = BRANCHES.replace("  database: {depends_on: [network]}",
                             "  database: {depends_on: [network], confirm: wait}")  # fmt: skip
    server = DevServer(tmp_path / "own-temporal.db", port=free_port(), ui_port=None)
    await server.start()
    try:
        async with system(waits, temporal=server) as sys_:
            _, chain_id = await _push_until_confirmation(sys_, "network", "database")
            await server.stop()
            (waiting,) = sys_.sandbox.runs("database")
            sys_.sandbox.world.confirm("database", waiting.id, "confirmed in Spacelift", "jane")
            await until(lambda: waiting.is_terminal, 10, "the confirmed run finishing")
            await server.start()
            chain = await sys_.chain(chain_id, within=60)
    finally:
        await server.stop()

    assert chain["status"] == "succeeded"
    assert chain["stacks"]["database"]["run_id"] == waiting.id
    assert sys_.runs_per_stack() == {"network": 1, "database": 1, "app": 1, "cache": 1,
                                     "worker": 1}  # fmt: skip
