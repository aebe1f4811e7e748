"""Every kind of mistake in the dependency file, with its message, line and stack."""

import pytest

from app.stackfile import Level, Severity, StackFileError, parse_stack_graph
from tests.unit.app.stackfile.stackfiles import only, problems_of

HEADER = "version: 1\nstacks:\n"


def test_yaml_syntax_error_names_line() -> None:
    """A YAML syntax error is one problem at the line the parser stopped, and nothing more."""
    problem = only("version: 1\nstacks:\n  a: {depends_on: [b}\n")
    assert problem.level is Level.SYNTAX
    assert problem.line == 3
    assert str(problem).startswith("t.yaml:3: YAML: ")


def test_empty_file() -> None:
    """An empty file says how to start rather than failing obscurely."""
    assert "start with `version: 1`" in only("").message


def test_two_documents_are_refused() -> None:
    """A second YAML document is a syntax error at the `---` line."""
    problem = only("version: 1\nstacks: {}\n---\nversion: 1\n")
    assert (problem.level, problem.line) == (Level.SYNTAX, 3)


def test_unknown_alias() -> None:
    """An alias with no anchor is a syntax error at its line."""
    problem = only("version: 1\nstacks:\n  a: *nothing\n")
    assert (problem.level, problem.line) == (Level.SYNTAX, 3)
    assert "unknown alias *nothing" in problem.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stacks: {}\n", "missing `version: 1`"),
        ("version: 2\nstacks: {}\n", "version must be 1, got 2"),
        ("version: 1\n", "missing key 'stacks'"),
        ("- version\n", "the file must be a mapping of keys, got a list"),
    ],
)
def test_top_level_schema(text: str, message: str) -> None:
    """The top of the file: a version 1 mapping with stacks."""
    problem = only(text)
    assert problem.level is Level.SCHEMA
    assert problem.message == message


def test_unknown_key_with_suggestion() -> None:
    """An unknown stack key names the closest known key and its own line."""
    problem = only(HEADER + "  app:\n    depends_on: []\n    trgger: always\n")
    assert str(problem) == "t.yaml:5: stack 'app': unknown key 'trgger' (did you mean 'trigger'?)"


def test_unknown_key_lists_allowed_keys() -> None:
    """An unknown key far from any known one lists the keys allowed there."""
    problem = only("version: 1\nchain: {colour: red}\nstacks: {}\n")
    assert problem.message == "unknown key 'colour' (expected one of: max_parallel, run_timeout)"
    assert problem.line == 2


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("retries: -1", "retries must be 0 or more, got -1"),
        ("retries: '3'", "retries must be a whole number, got '3'"),
        ("retries: 1.5", "retries must be a whole number, got 1.5"),
        ("retry_backoff: soon", "retry_backoff: 'soon' is not a duration such as 30s"),
        ("retry_backoff: 5", "retry_backoff: 5 has no unit"),
        ("on_failure: skip", "on_failure must be one of skip_dependents, continue, stop_chain"),
        ("confirm: autom", "confirm must be one of auto, wait, got 'autom' (did you mean 'auto'?)"),
        ("trigger: true", "trigger must be one of always, on_change, got true"),
        ("depends_on: network", "depends_on must be a list of stack ids such as [network]"),
        ("depends_on: [5]", "depends_on entries must be text, got 5"),
    ],
)
def test_stack_field_errors(entry: str, message: str) -> None:
    """Each wrong value of a stack's key: its message, its line and the stack."""
    problem = only(HEADER + "  network: {}\n  app:\n    " + entry + "\n")
    assert problem.message.startswith(message), problem.message
    assert (problem.line, problem.stack, problem.level) == (5, "app", Level.SCHEMA)


@pytest.mark.parametrize(
    ("chain", "message"),
    [
        ("max_parallel: 0", "chain.max_parallel must be 1 or more, got 0"),
        ("max_parallel: -3", "chain.max_parallel must be 1 or more, got -3"),
        ("run_timeout: 0s", "chain.run_timeout must be more than zero, got '0s'"),
        ("run_timeout: 2 hours", "chain.run_timeout: '2 hours' is not a duration"),
    ],
)
def test_chain_errors(chain: str, message: str) -> None:
    """The chain limits: at least one run at a time, a positive time-out in the file's syntax."""
    problem = only("version: 1\nchain:\n  " + chain + "\nstacks: {}\n")
    assert problem.message.startswith(message), problem.message
    assert problem.line == 3


def test_defaults_errors_have_no_stack() -> None:
    """A bad default is reported under its key, with no stack."""
    problem = only("version: 1\ndefaults:\n  on_failure: explode\nstacks: {}\n")
    assert problem.stack is None
    assert problem.message.startswith("defaults.on_failure must be one of")


def test_bad_stack_ids() -> None:
    """A stack id must be text (quote numbers) made of slug characters."""
    problems = problems_of(HEADER + "  123: {}\n  'has space': {}\n")
    assert [p.line for p in problems] == [3, 4]
    assert "must be text: write it in quotes, '123'" in problems[0].message
    assert "may hold only letters, digits" in problems[1].message


def test_a_stack_id_longer_than_spacelift_allows() -> None:
    """The same length cap holds in the file as in webhooks and the API, and the message says
    it is the length."""
    problems = problems_of(HEADER + "  " + "a" * 201 + ": {}\n")
    assert [p.line for p in problems] == [3]
    assert problems[0].message.endswith("is longer than 200 characters")


def test_unknown_dependency_points_at_its_item() -> None:
    """An unknown dependency is reported at the line of that item, with a suggestion."""
    text = HEADER + "  database: {}\n  app:\n    depends_on:\n      - database\n      - dtabase\n"
    problem = only(text)
    assert str(problem) == (
        "t.yaml:7: stack 'app': depends_on 'dtabase' is not a stack in this file "
        "(did you mean 'database'?)"
    )
    assert problem.level is Level.REFERENCE


def test_self_dependency() -> None:
    """A stack that depends on itself is one reference error showing the loop."""
    problem = only(HEADER + "  a:\n    depends_on: [a]\n")
    assert (problem.level, problem.stack, problem.line) == (Level.REFERENCE, "a", 4)
    assert problem.message == "depends on itself: a -> a"


def test_repeated_dependency() -> None:
    """Listing the same dependency twice is an error at the second item."""
    problem = only(HEADER + "  b: {}\n  a:\n    depends_on:\n      - b\n      - b\n")
    assert problem.message == "depends_on lists 'b' twice (first at line 6)"
    assert problem.line == 7


def test_stack_defined_twice() -> None:
    """A stack key written twice is an error at the second, naming the first line."""
    problem = only(HEADER + "  a: {}\n  b: {}\n  a: {}\n")
    assert str(problem) == "t.yaml:5: stack 'a': is defined twice (first at line 3)"
    assert problem.level is Level.REFERENCE


def test_key_written_twice_in_a_stack() -> None:
    """A repeated key inside a stack is a schema error (YAML would silently keep the last)."""
    problem = only(HEADER + "  a:\n    retries: 1\n    retries: 2\n")
    assert (problem.line, problem.stack, problem.level) == (5, "a", Level.SCHEMA)


def test_every_problem_at_once() -> None:
    """Problems of every level are all reported, in line order, in one pass."""
    problems = problems_of(
        """\
        version: 1
        chain: {max_parallel: 0}
        defaults:
          retries: -1
        stacks:
          network: {}
          database:
            depends_on: [netwrk]
          app:
            depends_on: [database, cache]
            confirm: maybe
          cache:
            depends_on: [app]
          network: {}
        """
    )
    found = [(p.line, p.level) for p in problems]
    assert found == [
        (2, Level.SCHEMA),
        (4, Level.SCHEMA),
        (8, Level.REFERENCE),
        (10, Level.CYCLE),
        (11, Level.SCHEMA),
        (14, Level.REFERENCE),
    ]


def test_parse_raises_with_every_problem() -> None:
    """parse_stack_graph raises one StackFileError carrying all errors, one per line of text."""
    with pytest.raises(StackFileError) as raised:
        parse_stack_graph(HEADER + "  a: {depends_on: [x]}\n  b: {depends_on: [y]}\n", file="f")
    assert [p.stack for p in raised.value.problems] == ["a", "b"]
    assert str(raised.value).count("\n") == 1
    assert all(p.severity is Severity.ERROR for p in raised.value.problems)


def test_unsupported_tag() -> None:
    """A custom YAML tag is refused at its line rather than crashing the loader."""
    problem = only(HEADER + "  a:\n    retries: !custom 3\n")
    assert problem.line == 4
    assert "unsupported YAML tag !custom" in problem.message
