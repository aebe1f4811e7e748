"""The errors the core and the web server raise, each with the HTTP status it is answered with.

The web server's ``error_handlers`` turns them into answers. Nothing here imports the web
framework, so code the worker shares with the API (the dependency file's ``GraphSource``) can raise
them without loading FastAPI into the worker.

::

    ApiError                     (any of these is answered {"detail": message})
    ├── BadRequestError          400  a Host that is not loopback while no API token is set
    ├── UnauthorizedError        401  bad or missing bearer token (WWW-Authenticate: Bearer)
    │   └── BadSignatureError    401  bad or missing webhook signature
    ├── ForbiddenError           403  no API token is set and the client is not on loopback, or
    │                                 a changing request comes from a foreign Origin
    ├── NotFoundError            404  unknown stack or chain
    ├── RequestTimeoutError      408  a body that has not arrived in full in time
    ├── ConflictError            409  the chain is not in a state to do that
    ├── PayloadTooLargeError     413  a body over its cap
    ├── UnprocessableError       422  not JSON, not an event, or a request that cannot be done
    └── UnavailableError         503  Temporal (or the dependency file) cannot serve now
        └── TemporalUnavailableError
"""

from http import HTTPStatus


class ApiError(Exception):
    """An error with an HTTP status; its message is the answer's ``detail``."""

    status_code = HTTPStatus.INTERNAL_SERVER_ERROR


class BadRequestError(ApiError):
    """The request cannot be served as sent (a foreign ``Host`` in loopback-only mode)."""

    status_code = HTTPStatus.BAD_REQUEST


class UnauthorizedError(ApiError):
    """The webhook signature or the API's bearer token is missing or wrong."""

    status_code = HTTPStatus.UNAUTHORIZED


class BadSignatureError(UnauthorizedError):
    """The webhook's ``X-Signature-256`` is missing or wrong.

    No ``WWW-Authenticate: Bearer`` challenge: a bearer token would not help.
    """


class ForbiddenError(ApiError):
    """No API token is set: the client is not on loopback, or the request's Origin is foreign."""

    status_code = HTTPStatus.FORBIDDEN


class RequestTimeoutError(ApiError):
    """The body did not arrive in full within the time limit."""

    status_code = HTTPStatus.REQUEST_TIMEOUT


class PayloadTooLargeError(ApiError):
    """The body is over the cap."""

    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class NotFoundError(ApiError):
    """No such stack or chain."""

    status_code = HTTPStatus.NOT_FOUND


class ConflictError(ApiError):
    """The chain is not in a state where this can be done."""

    status_code = HTTPStatus.CONFLICT


class UnprocessableError(ApiError):
    """The request is well-formed but asks for something that cannot be done."""

    status_code = HTTPStatus.UNPROCESSABLE_ENTITY


class UnavailableError(ApiError):
    """A dependency cannot serve now; the client should retry later."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE


class TemporalUnavailableError(UnavailableError):
    """Temporal did not answer within the bounded time, or could not be reached."""
