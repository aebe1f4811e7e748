"""Structured logs: structlog, JSON when not on a terminal, coloured lines when on one.

Every line carries ``chain_id``, ``stack_id`` and ``run_id`` (``None`` until a handler knows them):
request handlers bind them with :func:`bind_context`. Values under secret-looking keys are
replaced before rendering, so a careless ``log.info(..., token=...)`` cannot leak one.

Tracebacks never show local variables, on a terminal or not: a frame's locals hold tokens, API
key secrets and ``Authorization`` headers (rich's and structlog's pretty tracebacks print them by
default). Off a terminal a traceback is the standard library's text in the line's ``exception``.
"""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

CONTEXT_KEYS = ("chain_id", "stack_id", "run_id")
_SECRET_WORDS = ("secret", "token", "password", "authorization", "signature", "api_key")


def _redact(_: object, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if any(word in key.lower() for word in _SECRET_WORDS):
            event[key] = "[redacted]"
    return event


def _with_context_keys(
    _: object, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in CONTEXT_KEYS:
        event.setdefault(key, None)
    return event


class _CurrentStderrHandler(logging.StreamHandler[TextIO]):
    """Writes to ``sys.stderr`` as it is at each record, not as it was when set up."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def _stderr_logger(*_: object) -> structlog.PrintLogger:
    """A logger on the current ``sys.stderr`` (which tests and runners may swap)."""
    return structlog.PrintLogger(sys.stderr)


TRACEBACKS_WITHOUT_LOCALS = structlog.dev.RichTracebackFormatter(show_locals=False)
"""How a console shows a traceback: rich, never with a frame's local variables (secrets)."""

QUIET_LIBRARIES = ("httpx", "httpcore")
"""Libraries that log every request at INFO."""
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
"""uvicorn's loggers: its own default config gives them handlers of their own and stops them
propagating, which would print tracebacks past our renderer."""


def configure_logging(*, json_lines: bool | None = None, level: int = logging.INFO) -> None:
    """Set up structlog (and route the standard library's records through the same renderer).

    ``json_lines`` defaults to "stderr is not a terminal".
    """
    as_json = not sys.stderr.isatty() if json_lines is None else json_lines
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _with_context_keys,
        _redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(exception_formatter=TRACEBACKS_WITHOUT_LOCALS)
    )
    # The standard library's records (uvicorn's "Exception in ASGI application", temporalio's
    # failed activities) carry ``exc_info``: as text in JSON, through the formatter on a console.
    as_text = [structlog.processors.format_exc_info] if as_json else []
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    handler = _CurrentStderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *as_text,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers = []
        server_logger.propagate = True
    for chatty in QUIET_LIBRARIES:  # one line per request: the access log already says it
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))


def bind_context(**values: str | None) -> None:
    """Bind request-scoped values (``chain_id``, ``stack_id``, ``run_id``) to later lines."""
    structlog.contextvars.bind_contextvars(**values)


def new_request_context(**values: str | None) -> None:
    """Start a request's context afresh, with the chain, stack and run keys present."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**dict.fromkeys(CONTEXT_KEYS), **values)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A logger for ``name``."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
