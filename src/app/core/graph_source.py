"""The dependency file as the server and the worker read it: loaded again when it changes on disk.

Chains are planned from the file as it is when they start (an edit affects new chains only), so
the server re-reads it when its modification time or size changed, and keeps the last good graph
for the webhook filter while the file is broken (``/readyz`` says it is).
"""

from dataclasses import dataclass
from pathlib import Path

from app.core.errors import UnavailableError
from app.core.logs import get_logger
from app.stackfile import StackFileError, StackGraph, load_stack_graph

log = get_logger(__name__)


@dataclass(frozen=True)
class _Loaded:
    stamp: tuple[int, int] | None
    graph: StackGraph | None
    error: str | None


_NEVER = (-1, -1)
"""The stamp before the first load: no file on disk has it, so the first call loads."""


class GraphSource:
    """Reads ``path`` on demand, caching by (mtime, size)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded = _Loaded(_NEVER, None, None)
        self._last_good: StackGraph | None = None

    def _stamp(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size)

    def _refresh(self) -> _Loaded:
        stamp = self._stamp()
        if stamp == self._loaded.stamp:  # unchanged, or still missing (stamp None)
            return self._loaded
        try:
            graph = load_stack_graph(self.path)
        except StackFileError as error:
            if error.problems and self._loaded.error is None:
                log.error(  # noqa: TRY400 - the problems are the message, not a traceback
                    "dependency file invalid", file=str(self.path), problems=str(error)
                )
            self._loaded = _Loaded(stamp, None, str(error))
        else:
            self._loaded = _Loaded(stamp, graph, None)
            self._last_good = graph
        return self._loaded

    def problem(self) -> str | None:
        """Why the file cannot be used now, or None when it is valid."""
        return self._refresh().error

    def graph(self) -> StackGraph:
        """The current graph; :class:`UnavailableError` (503) while the file is invalid."""
        loaded = self._refresh()
        if loaded.graph is None:
            msg = f"the dependency file is invalid: {loaded.error}"
            raise UnavailableError(msg)
        return loaded.graph

    def graph_or_last_good(self) -> StackGraph | None:
        """The current graph, else the last one that loaded, else None."""
        loaded = self._refresh()
        return loaded.graph if loaded.graph is not None else self._last_good
