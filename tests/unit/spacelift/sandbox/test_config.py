"""Building a sandbox config: dataclasses, fixtures, and the errors of a bad description."""

import pytest

from spacelift import RunState
from spacelift.sandbox import (
    Chaos,
    Delta,
    Durations,
    Outcome,
    SandboxConfig,
    SandboxSpace,
    SandboxStack,
    WebhookTarget,
)
from spacelift.sandbox.chaos import ChaosEngine, Fault


def test_from_fixture_reads_every_nested_part() -> None:
    """from_fixture turns objects and lists into the dataclasses, stacks keyed by id or listed."""
    config = SandboxConfig.from_fixture(
        {
            "account": "acme",
            "seed": 3,
            "stacks": {
                "network": {"labels": ["layer:base"], "durations": {"planning": 0.5}},
                "app": {
                    "depends_on": ["network"],
                    "autodeploy": False,
                    "outcome": "FAILED:APPLYING",
                    "failure_phase": "PREPARING",
                    "delta": {"added": 3},
                },
            },
            "spaces": [{"id": "prod"}],
            "webhook": {"url": "http://x/hooks", "secret": "s", "shape": "policy"},
            "chaos": {"webhook_drop_rate": 0.2, "faults": [{"kind": "hang", "count": 2}]},
            "api_keys": {"k": "v"},
        }
    )
    network, app = config.stacks
    assert network.labels == ("layer:base",)
    assert network.durations == Durations(planning=0.5)
    assert (app.depends_on, app.autodeploy) == (("network",), False)
    assert (app.outcome, app.failure_phase, app.delta) == (
        Outcome(RunState.APPLYING),
        RunState.PREPARING,
        Delta(added=3),
    )
    assert config.webhook == WebhookTarget("http://x/hooks", "s", shape="policy")
    assert config.chaos.faults == [Fault("hang", count=2)]
    assert [space.id for space in config.all_spaces] == ["root", "prod"]
    assert config.base_url == "https://acme.app.spacelift.io"


def test_from_fixture_refuses_unknown_keys() -> None:
    """A typo in a fixture is an error that names the key, not a silently ignored setting."""
    with pytest.raises(ValueError, match="unknown keys autodeplo"):
        SandboxConfig.from_fixture({"stacks": [{"id": "a", "autodeplo": True}]})
    with pytest.raises(ValueError, match="unknown chaos knobs: drop"):
        SandboxConfig.from_fixture({"chaos": {"drop": 1}})


def test_bad_references_and_duplicates_are_reported_together() -> None:
    """Unknown spaces, parents and dependencies and repeated ids are all named in one error."""
    with pytest.raises(ValueError, match="invalid sandbox config") as caught:
        SandboxConfig(
            stacks=(
                SandboxStack("a", space="nowhere"),
                SandboxStack("a", depends_on=("ghost",)),
            ),
            spaces=(SandboxSpace("orphan", parent_space="missing"),),
        )
    message = str(caught.value)
    expected = [
        "stack 'a' is listed twice",
        "no space 'nowhere'",
        "unknown stack 'ghost'",
        "no parent space 'missing'",
    ]
    assert [part for part in expected if part not in message] == []


@pytest.mark.parametrize(
    ("text", "fail_at"),
    [
        ("FINISHED", None),
        ("failed", RunState.PLANNING),
        ("FAILED:preparing", RunState.PREPARING),
        ("FAILED:APPLYING", RunState.APPLYING),
    ],
)
def test_outcomes_parse(text: str, fail_at: RunState | None) -> None:
    """Outcome strings: FINISHED, FAILED (at PLANNING), FAILED:<phase>, any case."""
    assert Outcome.parse(text).fail_at == fail_at


@pytest.mark.parametrize("text", ["STOPPED", "FAILED:QUEUED", "FINISHED:APPLYING", ""])
def test_bad_outcomes_are_refused(text: str) -> None:
    """Anything but FINISHED or FAILED at a phase that can fail is refused."""
    with pytest.raises(ValueError, match="expected FINISHED"):
        Outcome.parse(text)


def test_faults_match_operation_name_or_field_and_spare_the_login() -> None:
    """A fault names an operation or root field, any case; an untargeted one spares the log-in."""
    assert Fault("error", "RunTrigger").matches(frozenset({"runtrigger"}))
    assert not Fault("error", "runTrigger").matches(frozenset({"stack"}))
    assert not Fault("error").matches(frozenset({"apikeyuser"}))
    engine = ChaosEngine(Chaos(error_rate=1.0))
    assert engine.request_fault(frozenset({"apikeyuser"})) is None
    assert engine.request_fault(frozenset({"stack"})) == Fault("error", status=503)
