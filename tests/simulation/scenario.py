"""What one seed draws: the graph, the policies, how runs end, and the fault plan over time.

Everything here is a pure function of the seed (``random.Random(seed)`` and sub-seeds derived
from it), so a seed names the same scenario on every machine. When each planned fault lands
relative to the engine's own progress still depends on real timing.
"""

import random
from dataclasses import dataclass, field
from typing import Literal

from spacelift.models import RunState
from spacelift.sandbox.config import Outcome
from temporal.inputs import Confirm, OnFailure, StackPolicy, Trigger

ENGINE = "api::stackchain-sim"
"""Who Spacelift records as triggering the engine's runs (its API key)."""
PERSON = "jane"
"""Who Spacelift records for everything people do."""
POLL_SECONDS = 0.5
HORIZON_SECONDS = 4.0
"""Planned actions happen within this many seconds of a seed's start."""
RUN_PHASE_SECONDS = 0.06
"""How long a simulated run stays in each phase."""

ActionKind = Literal[
    "person_run", "confirm", "discard", "stop", "cancel_chain", "approve", "manual_chain", "restart"
]


@dataclass(frozen=True)
class Action:
    """One planned fault or intervention, ``at`` seconds after the seed starts.

    ``pick`` chooses among what exists at that moment (chains, stacks awaiting confirmation).
    """

    at: float
    kind: ActionKind
    stack: str = ""
    pick: int = 0
    downtime: float = 0.0
    include_root: bool = False


@dataclass(frozen=True)
class WebhookOdds:
    """Probabilities, per run state change, of what happens to its webhook."""

    lost: float
    duplicated: float
    delayed: float
    reordered: float


@dataclass(frozen=True)
class CallOdds:
    """Probabilities, per Spacelift call, of a transient error or a lost trigger answer."""

    transient: float
    lost_trigger_answer: float


@dataclass(frozen=True)
class Scenario:
    """A seed's whole draw. ``graph`` maps each stack to its upstreams (a DAG, in order)."""

    seed: int
    graph: dict[str, list[str]]
    policies: dict[str, StackPolicy]
    autodeploy: dict[str, bool]
    outcomes: dict[str, list[Outcome]]
    max_parallel: int
    run_timeout: float
    continue_as_new_after: int | None
    webhooks: WebhookOdds
    calls: CallOdds
    actions: list[Action] = field(default_factory=list)

    def dependents(self, stack: str) -> list[str]:
        """The stacks that list ``stack`` among their upstreams."""
        return [other for other, ups in self.graph.items() if stack in ups]

    def descendants(self, stack: str) -> list[str]:
        """Every stack downstream of ``stack``, in the graph's (topological) order."""
        found = {stack}
        for other, ups in self.graph.items():  # upstreams always come earlier in the order
            if any(up in found for up in ups):
                found.add(other)
        return [other for other in self.graph if other in found and other != stack]

    @property
    def roots(self) -> list[str]:
        """The stacks whose finished runs start chains (those with dependents)."""
        return [stack for stack in self.graph if self.dependents(stack)]

    def has_changes(self, stack: str, ordinal: int) -> bool:
        """Whether the stack's ``ordinal``-th run changes resources (if it gets to plan)."""
        return random.Random(f"{self.seed}:delta:{stack}:{ordinal}").random() < 0.6  # noqa: S311


def draw(seed: int) -> Scenario:
    """The scenario of ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not cryptography
    graph = _graph(rng)
    stacks = list(graph)
    scenario = Scenario(
        seed=seed,
        graph=graph,
        policies={stack: _policy(rng) for stack in stacks},
        autodeploy={stack: rng.random() < 0.75 for stack in stacks},
        outcomes={stack: [_outcome(rng) for _ in range(12)] for stack in stacks},
        max_parallel=rng.randint(1, 3),
        run_timeout=rng.uniform(2.5, 4.0),
        continue_as_new_after=rng.choice([None, 20, 40, 60]),
        webhooks=WebhookOdds(
            lost=rng.choice([0.0, 0.1, 0.25]),
            duplicated=rng.choice([0.0, 0.1, 0.2]),
            delayed=rng.choice([0.0, 0.1, 0.2]),
            reordered=rng.choice([0.0, 0.1, 0.2]),
        ),
        calls=CallOdds(
            transient=rng.choice([0.0, 0.05, 0.1]),
            lost_trigger_answer=rng.choice([0.0, 0.1, 0.3]),
        ),
    )
    return _with_actions(scenario, rng)


def _graph(rng: random.Random) -> dict[str, list[str]]:
    """3 to 6 stacks; each after the first depends on up to two earlier ones; s0 has dependents."""
    names = [f"s{index}" for index in range(rng.randint(3, 6))]
    graph: dict[str, list[str]] = {names[0]: []}
    for index, name in enumerate(names[1:], start=1):
        count = rng.choice([0, 1, 1, 2]) if index > 1 else 1
        graph[name] = sorted(rng.sample(names[:index], min(count, index)))
    return graph


def _policy(rng: random.Random) -> StackPolicy:
    return StackPolicy(
        retries=rng.randint(0, 2),
        retry_backoff_seconds=rng.choice([0.05, 0.1, 0.2]),
        on_failure=rng.choice(list(OnFailure)),
        confirm=rng.choice([Confirm.AUTO, Confirm.AUTO, Confirm.WAIT]),
        trigger=rng.choice([Trigger.ALWAYS, Trigger.ALWAYS, Trigger.ON_CHANGE]),
    )


def _outcome(rng: random.Random) -> Outcome:
    if rng.random() < 0.75:
        return Outcome()
    return Outcome(rng.choice([RunState.PREPARING, RunState.PLANNING, RunState.APPLYING]))


def _with_actions(scenario: Scenario, rng: random.Random) -> Scenario:
    stacks, roots = list(scenario.graph), scenario.roots
    actions = [Action(rng.uniform(0.0, 0.5), "person_run", rng.choice(roots))]
    actions += [
        Action(rng.uniform(0.0, HORIZON_SECONDS), "person_run", rng.choice(roots + stacks))
        for _ in range(rng.randint(0, 3))
    ]
    actions += [  # a person who needs to confirm their own run does, mostly
        Action(action.at + rng.uniform(0.4, 1.5), "confirm", action.stack)
        for action in list(actions)
        if not scenario.autodeploy[action.stack] and rng.random() < 0.7
    ]
    if rng.random() < 0.4:
        at, root = rng.uniform(0, HORIZON_SECONDS), rng.choice(roots)
        actions.append(Action(at, "manual_chain", root, include_root=rng.random() < 0.5))
    for kind in ("confirm", "discard", "stop", "cancel_chain", "approve"):
        actions += [
            Action(rng.uniform(0, HORIZON_SECONDS), kind, rng.choice(stacks), rng.randrange(100))
            for _ in range(rng.choice([0, 0, 1, 2]))
        ]
    actions += [
        Action(rng.uniform(0.3, HORIZON_SECONDS), "restart", downtime=rng.uniform(0.0, 1.0))
        for _ in range(rng.choice([0, 0, 1, 2]))
    ]
    actions.sort(key=lambda action: action.at)
    return Scenario(**{**scenario.__dict__, "actions": actions})
