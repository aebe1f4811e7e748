"""Errors raised by the Spacelift client.

Every error derives from one root, carries the client operation that failed (``get_run``,
``trigger_run``, ...) and the stack it concerned, and names both in its message::

    SpaceliftError
    ├── AuthenticationError      401, or the API key could not be exchanged for a token
    ├── PermissionDeniedError    403, or a GraphQL "forbidden"/"unauthorized" error
    ├── NotFoundError            the API answered null for the thing asked for
    │   ├── StackNotFoundError
    │   ├── RunNotFoundError
    │   ├── ContextNotFoundError
    │   └── SpaceNotFoundError
    ├── RateLimitedError         429; ``retry_after`` seconds when the server said
    ├── TransientError           5xx, time-outs, connection errors and resets
    ├── GraphQLError             an ``errors`` array in the answer; ``messages`` holds the server's
    └── UnexpectedResponseError  an answer that is not JSON, or not the shape asked for

Only ``RateLimitedError`` and ``TransientError`` are worth retrying as they are; the client itself
never retries (a caller such as a Temporal activity owns the retry policy). No message contains a
credential: the API key secret, the token and the JWT are never put into one.
"""

from typing import Any


class SpaceliftError(Exception):
    """Root of every error the client raises."""

    def __init__(self, message: str, *, operation: str, stack_id: str | None = None) -> None:
        super().__init__(_describe(message, operation, stack_id))
        self.message = message
        self.operation = operation
        self.stack_id = stack_id

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments defeat the default pickling/copying of exceptions.
        return (_rebuild, (type(self), self.__dict__))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, operation={self.operation!r},"
            f" stack_id={self.stack_id!r})"
        )


def _describe(message: str, operation: str, stack_id: str | None) -> str:
    where = operation if stack_id is None else f"{operation} (stack {stack_id!r})"
    return f"{where}: {message}"


def _rebuild(cls: type[SpaceliftError], state: dict[str, Any]) -> SpaceliftError:
    exc = cls.__new__(cls)
    exc.__dict__.update(state)
    exc.args = (_describe(exc.message, exc.operation, exc.stack_id),)
    return exc


class AuthenticationError(SpaceliftError):
    """The credentials were refused: a 401, or the API key could not be exchanged."""


class PermissionDeniedError(SpaceliftError):
    """The credentials are valid but may not do this: a 403 or a GraphQL "forbidden" error."""


class NotFoundError(SpaceliftError):
    """The API answered null for the object asked for."""


class StackNotFoundError(NotFoundError):
    """No stack with this id, or not visible to these credentials."""


class RunNotFoundError(NotFoundError):
    """The stack exists but has no run with this id."""


class ContextNotFoundError(NotFoundError):
    """No context with this id."""


class SpaceNotFoundError(NotFoundError):
    """No space with this id."""


class RateLimitedError(SpaceliftError):
    """Spacelift answered 429; ``retry_after`` is the wait it asked for, in seconds, if any."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        stack_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, operation=operation, stack_id=stack_id)
        self.retry_after = retry_after


class TransientError(SpaceliftError):
    """A failure that may pass: a 5xx answer, a time-out, a refused or reset connection."""


class GraphQLError(SpaceliftError):
    """The answer carried a GraphQL ``errors`` array; ``messages`` are the server's words."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        stack_id: str | None = None,
        messages: list[str] | None = None,
    ) -> None:
        super().__init__(message, operation=operation, stack_id=stack_id)
        self.messages: list[str] = list(messages or [])


class UnexpectedResponseError(SpaceliftError):
    """The answer was not JSON, not a GraphQL result, or lacked a field the client needs."""
