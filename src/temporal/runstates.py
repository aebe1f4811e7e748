"""How Spacelift run states map onto a stack's state in a chain."""

from spacelift import RunState
from temporal.inputs import StackState

QUEUED_STATES = frozenset({"QUEUED", "READY"})
"""Runs that have not started: ``runCancel`` removes them."""

UNCONFIRMED = "UNCONFIRMED"
FINISHED = "FINISHED"
RETRYABLE_FAILURE = "FAILED"
PERSON_ENDED = frozenset({"STOPPED", "CANCELED", "DISCARDED", "SKIPPED"})
"""Terminal states a person (or Spacelift) chose: failures that are not retried."""

TERMINAL_STATES = frozenset(state.value for state in RunState if state.is_terminal)


def is_terminal(run_state: str) -> bool:
    """True for a state after which the run changes no more."""
    return run_state in TERMINAL_STATES


def stack_state_for(run_state: str) -> StackState:
    """The stack state an operator sees while a run is in ``run_state``."""
    if run_state in QUEUED_STATES:
        return StackState.TRIGGERED
    if run_state == UNCONFIRMED:
        return StackState.AWAITING_CONFIRMATION
    if run_state == FINISHED:
        return StackState.SUCCEEDED
    if run_state in TERMINAL_STATES:
        return StackState.FAILED
    return StackState.RUNNING
