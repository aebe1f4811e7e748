"""Signed webhooks at every transition, in both payload shapes, with retries and chaos."""

import hashlib
import hmac

import httpx

from spacelift import RunState
from spacelift.sandbox import Chaos, Sandbox, SimRun
from tests.unit.spacelift.sandbox.support import (
    HOOK_SECRET,
    Receiver,
    hook,
    sample,
    shape_of,
    world,
)


async def run_to_the_end(sandbox: Sandbox, stack: str = "network") -> SimRun:
    run = sandbox.push(stack)
    await sandbox.wait_until(lambda: run.is_terminal, what="the run ending")
    await sandbox.wait_for_deliveries()
    return run


async def test_every_transition_is_sent_in_order_and_signed(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    """One event per transition, in order; X-Signature-256 is the HMAC-SHA256 of the exact body."""
    sandbox.set_webhook(hook())
    run = await run_to_the_end(sandbox)
    assert receiver.events() == [
        (run.id, entry.state.value, entry.state_version) for entry in run.history
    ]
    for received in receiver.received:
        assert received.signed_with(HOOK_SECRET)
        assert not received.signed_with("another-secret")
        sha1 = hmac.new(HOOK_SECRET.encode(), received.body, hashlib.sha1).hexdigest()
        assert received.headers["x-signature"] == f"sha1={sha1}"
        assert received.headers["content-type"] == "application/json"


async def test_default_payload_has_the_sample_structure(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    """The camelCase event has exactly the keys and value types of run-finished-tracked.json."""
    sandbox.set_webhook(hook())
    run = await run_to_the_end(sandbox)
    finished = receiver.received[-1].json
    assert shape_of(finished) == shape_of(sample("run-finished-tracked.json"))
    assert (finished["account"], finished["state"], finished["stateVersion"]) == (
        "acme",
        "FINISHED",
        5,
    )
    assert finished["run"]["id"] == run.id
    assert finished["run"]["delta"] == {"added": 1, "changed": 0, "deleted": 0, "resources": 10}
    assert finished["stack"] == {
        "id": "network",
        "name": "Network",
        "description": "VPC and subnets",
        "labels": ["layer:base"],
    }
    assert receiver.received[0].json["run"]["delta"]["added"] == 0  # not planned yet


async def test_policy_payload_has_the_sample_structure(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    """The snake_case shape matches run-finished-policy-shape.json, nanosecond times included."""
    sandbox.set_webhook(hook("policy"))
    run = await run_to_the_end(sandbox)
    finished = receiver.received[-1].json
    assert shape_of(finished) == shape_of(sample("run-finished-policy-shape.json"))
    updated = finished["run_updated"]
    assert (updated["state"], updated["run"]["id"], updated["stack"]["state"]) == (
        "FINISHED",
        run.id,
        "FINISHED",
    )
    assert updated["run"]["updated_at"] == int(run.history[-1].timestamp * 1_000_000_000)
    assert updated["urls"]["run"] == f"https://acme.app.spacelift.io/stack/network/run/{run.id}"
    assert len({r.json["run_updated"]["run"]["updated_at"] for r in receiver.received}) == 5


async def test_5xx_is_retried_up_to_three_times(sandbox: Sandbox, receiver: Receiver) -> None:
    """5xx is retried 3 times; after 4 failures the event is given up and the next ones go on."""
    sandbox.set_webhook(hook())
    receiver.statuses.extend([503, 500, 502, 504, 503, 200])
    run = await run_to_the_end(sandbox)
    first, second = sandbox.deliveries[:2]
    assert (first.outcome, first.attempts) == ("failed", [503, 500, 502, 504])
    assert (second.outcome, second.attempts) == ("delivered", [503, 200])
    assert [event[2] for event in receiver.events()] == [1, 1, 1, 1, 2, 2, 3, 4, 5]
    assert run.state is RunState.FINISHED


async def test_4xx_is_not_retried(sandbox: Sandbox, receiver: Receiver) -> None:
    """Only 5xx is retried: a 400 ends that delivery at once as rejected."""
    sandbox.set_webhook(hook())
    receiver.statuses.append(400)
    await run_to_the_end(sandbox)
    assert (sandbox.deliveries[0].outcome, sandbox.deliveries[0].attempts) == ("rejected", [400])


async def test_no_target_no_webhooks_and_a_target_set_later_gets_later_events(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    """Without a target nothing is sent; a target set at run time gets the events from then on."""
    await run_to_the_end(sandbox)
    assert receiver.received == []
    sandbox.set_webhook(hook())
    await run_to_the_end(sandbox)
    assert len(receiver.received) == 5


# --- chaos --------------------------------------------------------------------------------------


async def dropped_and_received(seed: int) -> tuple[int, int, int]:
    receiver = Receiver()
    config = world(webhook=hook(), chaos=Chaos(seed=seed, webhook_drop_rate=0.3))
    async with Sandbox(config, webhook_transport=httpx.ASGITransport(app=receiver.app)) as sandbox:
        for _ in range(4):
            await run_to_the_end(sandbox)
        dropped = sum(delivery.outcome == "dropped" for delivery in sandbox.deliveries)
        return dropped, len(receiver.received), len(sandbox.transitions)


async def test_dropped_webhooks_are_reproducible_with_a_seed() -> None:
    """A 30% drop rate loses the same events for the same seed; every other event arrives."""
    dropped, received, transitions = await dropped_and_received(seed=11)
    assert (dropped, received, transitions) == await dropped_and_received(seed=11)
    assert 0 < dropped < transitions
    assert dropped + received == transitions


async def test_duplicates_arrive_twice_with_the_same_bytes(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    """At a duplicate rate of 1 every event arrives twice, byte for byte."""
    sandbox.set_webhook(hook())
    sandbox.chaos.update({"webhook_duplicate_rate": 1.0})
    await run_to_the_end(sandbox)
    bodies = [received.body for received in receiver.received]
    assert len(bodies) == 10
    assert bodies[0::2] == bodies[1::2]


async def test_reordered_events_arrive_after_the_next_one(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    """A held event goes after its run's next event; the last one after the reorder delay."""
    sandbox.set_webhook(hook())
    sandbox.chaos.update({"webhook_reorder_rate": 1.0, "webhook_reorder_delay": 0.05})
    await run_to_the_end(sandbox)
    assert [event[2] for event in receiver.events()] == [2, 1, 4, 3, 5]


async def test_events_of_the_drop_states_are_never_sent(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    """webhook_drop_states ["FINISHED"]: every run's FINISHED event is dropped, the rest arrive."""
    sandbox.set_webhook(hook())
    sandbox.chaos.update({"webhook_drop_states": ["FINISHED"]})
    first, second = await run_to_the_end(sandbox), await run_to_the_end(sandbox)
    assert [event[1] for event in receiver.events()] == ["QUEUED", "PREPARING", "PLANNING",
                                                         "APPLYING"] * 2  # fmt: skip
    dropped = [(d.run_id, d.state) for d in sandbox.deliveries if d.outcome == "dropped"]
    assert dropped == [(first.id, RunState.FINISHED), (second.id, RunState.FINISHED)]


async def test_a_delayed_state_is_overtaken_by_the_runs_later_events(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    """webhook_delay_states holds PLANNING back; UNCONFIRMED, after it, is delivered first."""
    sandbox.set_webhook(hook())
    sandbox.chaos.update({"webhook_delay_states": {"PLANNING": 60.0}})
    run = sandbox.push("app")
    await sandbox.wait_until(
        lambda: (
            [d.outcome for d in sandbox.deliveries if d.run_id == run.id]
            == ["delivered", "delivered", "pending", "delivered"]
        ),
        what="every event but PLANNING delivered",
    )
    assert [event[1] for event in receiver.events()] == ["QUEUED", "PREPARING", "UNCONFIRMED"]


async def test_a_delayed_event_still_arrives(sandbox: Sandbox, receiver: Receiver) -> None:
    """A short delay: every event of the run arrives, the delayed FINISHED one too."""
    sandbox.set_webhook(hook())
    sandbox.chaos.update({"webhook_delay_states": {"FINISHED": 0.01}})
    run = await run_to_the_end(sandbox)
    assert sorted(event[2] for event in receiver.events()) == [1, 2, 3, 4, 5]
    assert all(delivery.outcome == "delivered" for delivery in sandbox.deliveries)
    assert receiver.events()[-1] == (run.id, "FINISHED", 5)
