"""The dependency file: load, check, plan and draw the stack graph.

Errors::

    StackFileError      the file is invalid; .problems lists every Problem found
    UnknownStackError   (a LookupError) a stack id the file does not declare
"""

from app.stackfile.graph import (
    CheckResult,
    StackGraph,
    check_stack_file,
    load_stack_graph,
    parse_stack_graph,
    read_stack_file,
)
from app.stackfile.models import ChainPolicy, StackFileModel, StackPolicy
from app.stackfile.plan import Plan, PlannedStack
from app.stackfile.problems import Level, Problem, Severity, StackFileError, UnknownStackError
from app.stackfile.remote import RemoteStack, compare_with_spacelift
from app.stackfile.render import to_dot, to_json, to_mermaid
from temporal.inputs import Confirm, OnFailure, Trigger

__all__ = [
    "ChainPolicy",
    "CheckResult",
    "Confirm",
    "Level",
    "OnFailure",
    "Plan",
    "PlannedStack",
    "Problem",
    "RemoteStack",
    "Severity",
    "StackFileError",
    "StackFileModel",
    "StackGraph",
    "StackPolicy",
    "Trigger",
    "UnknownStackError",
    "check_stack_file",
    "compare_with_spacelift",
    "load_stack_graph",
    "parse_stack_graph",
    "read_stack_file",
    "to_dot",
    "to_json",
    "to_mermaid",
]
