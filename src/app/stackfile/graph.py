"""The checked dependency graph: stacks, edges, policies, descendants and plans."""

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from app.stackfile.checks import check_cycles, check_references, declared_dependencies
from app.stackfile.loader import parse_yaml
from app.stackfile.models import ChainPolicy, StackPolicy, resolve_policies
from app.stackfile.order import topological_order
from app.stackfile.plan import Plan, PlannedStack
from app.stackfile.problems import (
    Level,
    Problem,
    Severity,
    StackFileError,
    UnknownStackError,
    sort_problems,
)
from app.stackfile.schema_check import check_schema


@dataclass(frozen=True, eq=False)
class StackGraph:
    """A dependency file that passed every check. Build it with :func:`load_stack_graph`.

    ``edges`` run upstream -> downstream (``("network", "database")``: database depends on
    network), in file order.
    """

    file: str
    stacks: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    policies: Mapping[str, StackPolicy]
    chain: ChainPolicy
    lines: Mapping[str, int]
    """The line of each stack's key, for messages about it."""
    upstreams: Mapping[str, tuple[str, ...]] = field(init=False, repr=False)
    downstreams: Mapping[str, tuple[str, ...]] = field(init=False, repr=False)
    rank: Mapping[str, int] = field(init=False, repr=False)
    """Each stack's place in one topological order: upstreams rank before their downstreams."""

    def __post_init__(self) -> None:
        ups: dict[str, list[str]] = {stack: [] for stack in self.stacks}
        downs: dict[str, list[str]] = {stack: [] for stack in self.stacks}
        for upstream, downstream in self.edges:
            ups[downstream].append(upstream)
            downs[upstream].append(downstream)
        object.__setattr__(self, "upstreams", _frozen(ups))
        object.__setattr__(self, "downstreams", _frozen(downs))
        order, left = topological_order(ups)
        if left:  # pragma: no cover - the cycle check rules this out
            msg = f"the graph has a cycle through {sorted(left)}"
            raise ValueError(msg)
        rank = {stack: index for index, stack in enumerate(order)}
        object.__setattr__(self, "rank", MappingProxyType(rank))

    def __contains__(self, stack: object) -> bool:
        return stack in self.policies

    def require(self, stack: str) -> None:
        """Raise :class:`UnknownStackError` (with a did-you-mean) unless ``stack`` is declared."""
        if stack not in self.policies:
            raise UnknownStackError(stack, self.stacks, self.file)

    def descendants(self, stack: str) -> frozenset[str]:
        """Every stack that depends on ``stack``, directly or not (not ``stack`` itself)."""
        self.require(stack)
        found: set[str] = set()
        queue = deque(self.downstreams[stack])
        while queue:
            current = queue.popleft()
            if current not in found:
                found.add(current)
                queue.extend(self.downstreams[current])
        return frozenset(found)

    def plan(self, stack: str, *, include_root: bool = False) -> Plan:
        """What a chain from ``stack`` covers, each stack in the earliest wave it can start in.

        The root is wave 0 and is part of the plan only with ``include_root``; a stack's wave is
        the longest path to it from the root, so its upstreams within the plan all come earlier.
        """
        members = set(self.descendants(stack))
        wave = {stack: 0}
        for member in sorted(members, key=self.rank.__getitem__):  # upstreams before downstreams
            # an upstream outside the plan counts as 0, no later than the root
            wave[member] = 1 + max(wave.get(up, 0) for up in self.upstreams[member])
        if include_root:
            members.add(stack)
        planned = [
            PlannedStack(
                id=member,
                wave=wave[member],
                upstreams=tuple(up for up in self.upstreams[member] if up in members),
                policy=self.policies[member],
            )
            for member in members
        ]
        planned.sort(key=lambda item: (item.wave, item.id))
        return Plan(root=stack, include_root=include_root, chain=self.chain, stacks=tuple(planned))


def _frozen(lists: dict[str, list[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({key: tuple(values) for key, values in lists.items()})


@dataclass(frozen=True)
class CheckResult:
    """Everything the checks found, and the graph when there was no error."""

    graph: StackGraph | None
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that make the file invalid."""
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)


def check_stack_file(text: str, *, file: str = "<string>") -> CheckResult:
    """Run every level of check on ``text`` and report all problems, graph or not."""
    doc = parse_yaml(text, file)
    if doc.data is None:
        return CheckResult(None, tuple(doc.problems))
    model = check_schema(doc)
    usable = check_references(doc, declared_dependencies(doc))
    check_cycles(doc, usable)
    problems = tuple(sort_problems(doc.problems))
    if model is None or any(p.severity is Severity.ERROR for p in problems):
        return CheckResult(None, problems)
    graph = StackGraph(
        file=file,
        stacks=tuple(model.stacks),
        edges=tuple((up, stack) for stack, ups in usable.items() for up in ups),
        policies=MappingProxyType(resolve_policies(model.defaults, model.stacks)),
        chain=ChainPolicy(model.chain.max_parallel, model.chain.run_timeout),
        lines=MappingProxyType({stack: doc.lines[("stacks", stack)] for stack in model.stacks}),
    )
    return CheckResult(graph, problems)


def parse_stack_graph(text: str, *, file: str = "<string>") -> StackGraph:
    """The graph of ``text``; raises :class:`StackFileError` listing every error."""
    result = check_stack_file(text, file=file)
    if result.graph is None:
        raise StackFileError(result.errors)
    return result.graph


def read_stack_file(path: Path) -> str:
    """The file's text; raises :class:`StackFileError` saying why it could not be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        problem = Problem(str(path), None, None, f"cannot read the file: {reason}", Level.SYNTAX)
        raise StackFileError([problem]) from None


def load_stack_graph(path: Path) -> StackGraph:
    """Read, check and build the graph of the file at ``path``; raises :class:`StackFileError`."""
    return parse_stack_graph(read_stack_file(path), file=str(path))
