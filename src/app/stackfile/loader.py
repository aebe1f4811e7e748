"""Read YAML into plain data while remembering the line of every key and list item.

Built from PyYAML's event stream (libyaml's parser when available) with an explicit stack: no
recursion, no node objects, and duplicate keys caught (``yaml.safe_load`` lets the last one win).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from app.stackfile.problems import Level, Problem

Path = tuple[object, ...]
"""Where a value sits in the document: keys and list indexes from the top, like pydantic's loc."""

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: ~5x faster
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = frozenset({None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_NO_KEY = object()


@dataclass
class Document:
    """A parsed file: its data, the line (1-based) of every key and item, what went wrong."""

    file: str
    data: object = None
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of the nearest enclosing key or item that has one."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1 if self.data is not None else None

    def problem(self, path: Path, message: str, level: Level, stack: str | None = None) -> None:
        """Record an error at ``path``."""
        self.problems.append(Problem(self.file, self.line_of(path), stack, message, level))


class _SyntaxError(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line


def _line(event: Event) -> int:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 0


def parse_yaml(text: str, file: str) -> Document:
    """Parse ``text``; a syntax error becomes the document's only problem."""
    doc = Document(file)
    builder = _Builder(doc)
    loader = _Loader(text)
    try:
        builder.run(iter(loader.get_event, None))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        what = "; ".join(part for part in (error.context, error.problem) if part)
        problem = Problem(file, line, None, f"YAML: {what}", Level.SYNTAX)
        return Document(file, problems=[problem])
    except _SyntaxError as error:
        problem = Problem(file, error.line, None, f"YAML: {error}", Level.SYNTAX)
        return Document(file, problems=[problem])
    finally:
        loader.dispose()
    doc.data = builder.root
    if builder.root is None and not doc.problems:
        doc.problems.append(
            Problem(file, None, None, "the file is empty: start with `version: 1`", Level.SCHEMA)
        )
    return doc


_Collection = dict[object, object] | list[object]


@dataclass(slots=True)
class _Frame:
    value: _Collection
    path: Path
    anchor: str | None
    line: int
    key: object = _NO_KEY  # a mapping's key waiting for its value
    first_lines: dict[object, int] = field(default_factory=dict)
    merged: list[object] = field(default_factory=list)  # `<<: *anchor` sources


class _Builder:
    """Turns events into data with a stack of open mappings and lists (no recursion)."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.root: object = None
        self.frames: list[_Frame] = []
        self.anchors: dict[str, object] = {}
        self.documents = 0
        self.resolver = Resolver()
        # plain scalars starting with any other character are text: skip the regex resolvers
        self.implicit_first = frozenset(Resolver.yaml_implicit_resolvers) | {""}
        self.constructor = SafeConstructor()

    def run(self, events: Iterator[Event]) -> None:
        for event in events:
            if isinstance(event, ScalarEvent):
                self.add(self.scalar(event), _line(event))
            elif isinstance(event, MappingStartEvent):
                self.open(event, {})
            elif isinstance(event, SequenceStartEvent):
                self.open(event, [])
            elif isinstance(event, MappingEndEvent | SequenceEndEvent):
                self.close()
            elif isinstance(event, AliasEvent):
                if event.anchor not in self.anchors:
                    raise _SyntaxError(_line(event), f"unknown alias *{event.anchor}")
                self.add(self.anchors[event.anchor], _line(event))
            elif isinstance(event, DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    msg = "one document expected, found a second (`---`)"
                    raise _SyntaxError(_line(event), msg)

    def path_of_next(self) -> Path:
        if not self.frames:
            return ()
        frame = self.frames[-1]
        if isinstance(frame.value, list):
            return (*frame.path, len(frame.value))
        return frame.path if frame.key is _NO_KEY else (*frame.path, frame.key)

    def scalar(self, event: ScalarEvent) -> object:
        tag = event.tag
        if tag is None or tag == "!":
            plain = event.implicit[0]  # not quoted: may be a number, a boolean, null
            if plain and event.value[:1] in self.implicit_first:
                tag = self.resolver.resolve(ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
            else:
                tag = _STR
        if tag == _STR:
            value: object = event.value
        elif tag == _MERGE and self.frames and self.frames[-1].key is _NO_KEY:
            value = _MERGE
        else:
            value = self.construct(tag, event)
        if event.anchor is not None:
            self.anchors[event.anchor] = value
        return value

    def construct(self, tag: str, event: ScalarEvent) -> object:
        build = SafeConstructor.yaml_constructors.get(tag)
        if build is None:
            self.problem(f"unsupported YAML tag {tag}")
            return None
        try:
            return build(self.constructor, ScalarNode(tag, event.value, style=event.style))
        except (ConstructorError, ValueError) as error:
            self.problem(f"bad value {event.value!r}: {error}")
            return None

    def problem(self, message: str) -> None:
        self.doc.problem(self.path_of_next(), message, Level.SCHEMA)

    def open(self, event: MappingStartEvent | SequenceStartEvent, value: _Collection) -> None:
        if event.tag not in _COLLECTION_TAGS:
            self.problem(f"unsupported YAML tag {event.tag}")
        self.frames.append(_Frame(value, self.path_of_next(), event.anchor, _line(event)))

    def close(self) -> None:
        frame = self.frames.pop()
        if isinstance(frame.value, dict):
            for source in reversed(frame.merged):  # keys written in the mapping win
                for key, value in _mappings(source):
                    frame.value.setdefault(key, value)
        if frame.anchor is not None:
            self.anchors[frame.anchor] = frame.value
        self.add(frame.value, frame.line)

    def add(self, value: object, line: int) -> None:
        if not self.frames:
            self.root = value
            return
        frame = self.frames[-1]
        if isinstance(frame.value, list):
            self.doc.lines[(*frame.path, len(frame.value))] = line
            frame.value.append(value)
        elif frame.key is _NO_KEY:
            self.take_key(frame, value, line)
        else:
            if frame.key is _MERGE:
                frame.merged.append(value)
            else:
                frame.value[frame.key] = value
            frame.key = _NO_KEY

    def take_key(self, frame: _Frame, key: object, line: int) -> None:
        if isinstance(key, list | dict):
            message = "a key must be text, not a list or mapping"
            self.doc.problems.append(Problem(self.doc.file, line, None, message, Level.SCHEMA))
            key = None
        frame.key = key
        if key is _MERGE:
            return
        first = frame.first_lines.get(key)
        if first is not None:
            self.duplicate(frame.path, key, line, first)
        else:
            frame.first_lines[key] = line
        self.doc.lines[(*frame.path, key)] = line

    def duplicate(self, path: Path, key: object, line: int, first: int) -> None:
        if path == ("stacks",):
            message = f"is defined twice (first at line {first})"
            problem = Problem(self.doc.file, line, str(key), message, Level.REFERENCE)
        else:
            message = f"key '{key}' appears twice (first at line {first})"
            stack = str(path[1]) if len(path) > 1 and path[0] == "stacks" else None
            problem = Problem(self.doc.file, line, stack, message, Level.SCHEMA)
        self.doc.problems.append(problem)


def _mappings(source: object) -> list[tuple[object, object]]:
    """The pairs a merge key brings: from one mapping or a list of them."""
    if isinstance(source, dict):
        return list(source.items())
    if isinstance(source, list):
        return [pair for item in source if isinstance(item, dict) for pair in item.items()]
    return []
