from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spacelift import Run, RunState, Stack, UnexpectedResponseError
from spacelift._parsing import parse
from tests.unit.spacelift.fakes import run_payload, stack_payload

RUN_FIELDS = set(run_payload())
STACK_FIELDS = set(stack_payload())
RUN_REQUIRED = ["id", "state", "type", "createdAt", "finished"]
STACK_REQUIRED = ["id", "name", "labels", "branch", "state", "space"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=8,
)


def extras(known: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Fields the client did not ask for, under names it does not use."""
    names = st.text(min_size=1, max_size=12).filter(lambda name: name not in known)
    return st.dictionaries(names, json_values, max_size=5)


runs = st.builds(
    run_payload,
    run_id=st.text(min_size=1, max_size=30),
    state=st.sampled_from([state.value for state in RunState]),
    createdAt=st.integers(min_value=0, max_value=4_000_000_000),
    triggeredBy=st.none() | st.text(max_size=20),
)
stacks = st.builds(
    stack_payload,
    stack_id=st.text(min_size=1, max_size=30),
    labels=st.lists(st.text(max_size=20), max_size=6),
    trackedCommit=st.none() | st.fixed_dictionaries({"hash": st.text(min_size=1, max_size=40)}),
    dependsOn=st.lists(st.builds(lambda i: {"dependsOnStack": {"id": i}}, st.text(min_size=1))),
)


@given(payload=runs, extra=extras(RUN_FIELDS))
def test_run_tolerates_extra_fields(payload: dict[str, Any], extra: dict[str, Any]) -> None:
    """Any run answer with unknown fields added parses to the same Run."""
    run = parse(Run, payload | extra, path="stack.run", operation="get_run")
    assert run == parse(Run, payload, path="stack.run", operation="get_run")
    assert run.state.value == payload["state"]
    assert run.created_at == datetime.fromtimestamp(payload["createdAt"], tz=UTC)
    assert run.state_version == max(h["stateVersion"] for h in payload["history"])


@given(payload=runs, missing=st.sampled_from(RUN_REQUIRED))
def test_run_without_a_required_field_names_it(payload: dict[str, Any], missing: str) -> None:
    """Dropping a required run field is UnexpectedResponseError naming operation and field."""
    del payload[missing]
    with pytest.raises(UnexpectedResponseError) as caught:
        parse(Run, payload, path="stack.run", operation="get_run", stack_id="net")
    assert str(caught.value).startswith("get_run (stack 'net'): ")
    assert f"'stack.run.{missing}': Field required" in str(caught.value)


@given(payload=stacks, extra=extras(STACK_FIELDS))
def test_stack_tolerates_extra_fields(payload: dict[str, Any], extra: dict[str, Any]) -> None:
    """Any stack answer with unknown fields added parses, dependencies flattened to ids."""
    stack = parse(Stack, payload | extra, path="stack", operation="get_stack")
    assert stack.id == payload["id"]
    assert stack.depends_on == [d["dependsOnStack"]["id"] for d in payload["dependsOn"]]
    commit = payload["trackedCommit"]
    assert stack.tracked_commit == (commit["hash"] if commit else None)


@given(payload=stacks, missing=st.sampled_from(STACK_REQUIRED))
def test_stack_without_a_required_field_names_it(payload: dict[str, Any], missing: str) -> None:
    """Dropping a required stack field is UnexpectedResponseError naming the field."""
    del payload[missing]
    with pytest.raises(UnexpectedResponseError, match=f"'stack.{missing}': Field required"):
        parse(Stack, payload, path="stack", operation="get_stack")


@pytest.mark.parametrize("state", ["PENDING", "TELEPORTING"])
def test_a_run_state_the_client_does_not_know_parses_and_counts_as_in_progress(
    state: str,
) -> None:
    """Spacelift's deprecated PENDING, or a state it adds later, is never an error."""
    run = parse(Run, run_payload(state=state), path="stack.run", operation="get_run")
    assert run.state == state
    assert not run.state.is_terminal
    assert RunState.FINISHED.is_terminal  # the known states keep their meaning


def test_an_empty_run_state_is_a_clear_error() -> None:
    """An empty state is UnexpectedResponseError naming the field."""
    with pytest.raises(UnexpectedResponseError, match=r"'stack\.run\.state'"):
        parse(Run, run_payload(state=""), path="stack.run", operation="get_run")


def test_run_state_terminality() -> None:
    """Exactly FINISHED, FAILED, STOPPED, CANCELED, DISCARDED and SKIPPED are terminal."""
    terminal = {state.value for state in RunState if state.is_terminal}
    assert terminal == {"FINISHED", "FAILED", "STOPPED", "CANCELED", "DISCARDED", "SKIPPED"}
    assert len(RunState) == 20


def test_run_without_history_has_state_version_zero() -> None:
    """state_version is 0 when the history is empty, and delta may be absent."""
    run = parse(Run, run_payload(history=[], delta=None), path="run", operation="get_run")
    assert run.state_version == 0
    assert run.delta is None


def test_stack_label_dependencies() -> None:
    """label_dependencies reads `depends-on:<id>` labels and ignores others and empty ids."""
    labels = ["depends-on:network", "team:x", "depends-on:", "depends-on:db", "DEPENDS-ON:no"]
    stack = parse(Stack, stack_payload(labels=labels), path="stack", operation="get_stack")
    assert stack.label_dependencies() == ["network", "db"]
