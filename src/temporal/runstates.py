"""How Spacelift run states map onto a stack's state in a chain."""

from spacelift import RunState
from temporal.inputs import StackState

QUEUED_STATES = frozenset({RunState.QUEUED, RunState.READY})
"""Runs that have not started: ``runCancel`` removes them."""

UNCONFIRMED = RunState.UNCONFIRMED
FINISHED = RunState.FINISHED
RETRYABLE_FAILURE = RunState.FAILED
TERMINAL_STATES = frozenset(state for state in RunState if state.is_terminal)
PERSON_ENDED = TERMINAL_STATES - {FINISHED, RETRYABLE_FAILURE}
"""Terminal states a person (or Spacelift) chose: failures that are not retried."""


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
