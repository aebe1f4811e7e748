"""The web server's errors, and the one place they become HTTP answers.

::

    ApiError                     (any of these is answered {"detail": message})
    ├── UnauthorizedError        401  bad or missing bearer token (WWW-Authenticate: Bearer)
    │   └── BadSignatureError    401  bad or missing webhook signature
    ├── ForbiddenError           403  no API token is set and the client is not on loopback
    ├── NotFoundError            404  unknown stack or chain
    ├── ConflictError            409  the chain is not in a state to do that
    ├── PayloadTooLargeError     413  a webhook body over the cap
    ├── UnprocessableError       422  not JSON, not an event, or a request that cannot be done
    └── UnavailableError         503  Temporal (or the dependency file) cannot serve now
        └── TemporalUnavailableError
"""

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.logs import get_logger

log = get_logger(__name__)


class ApiError(Exception):
    """An error with an HTTP status; its message is the answer's ``detail``."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR


class UnauthorizedError(ApiError):
    """The webhook signature or the API's bearer token is missing or wrong."""

    status_code = status.HTTP_401_UNAUTHORIZED


class BadSignatureError(UnauthorizedError):
    """The webhook's ``X-Signature-256`` is missing or wrong.

    No ``WWW-Authenticate: Bearer`` challenge: a bearer token would not help.
    """


class ForbiddenError(ApiError):
    """The API has no token set and answers loopback clients only."""

    status_code = status.HTTP_403_FORBIDDEN


class PayloadTooLargeError(ApiError):
    """The body is over the cap."""

    status_code = status.HTTP_413_CONTENT_TOO_LARGE


class NotFoundError(ApiError):
    """No such stack or chain."""

    status_code = status.HTTP_404_NOT_FOUND


class ConflictError(ApiError):
    """The chain is not in a state where this can be done."""

    status_code = status.HTTP_409_CONFLICT


class UnprocessableError(ApiError):
    """The request is well-formed but asks for something that cannot be done."""

    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT


class UnavailableError(ApiError):
    """A dependency cannot serve now; the client should retry later."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


class TemporalUnavailableError(UnavailableError):
    """Temporal did not answer within the bounded time, or could not be reached."""


async def _answer(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)  # noqa: S101 - registered for ApiError only
    headers = None
    if isinstance(error, UnavailableError):
        log.warning("unavailable", detail=str(error))
        headers = {"Retry-After": "5"}
    elif isinstance(error, UnauthorizedError) and not isinstance(error, BadSignatureError):
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse({"detail": str(error)}, status_code=error.status_code, headers=headers)


async def _invalid_request(_: Request, error: Exception) -> JSONResponse:
    """422 without echoing the input: it may not be JSON-safe (``Infinity``) or may be secret."""
    assert isinstance(error, RequestValidationError)  # noqa: S101 - registered for it only
    detail = [
        {"loc": [str(part) for part in item["loc"]], "msg": str(item["msg"]), "type": item["type"]}
        for item in error.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _unexpected(_: Request, error: Exception) -> JSONResponse:
    """Anything else is a bug: logged with its traceback, answered in the contract's shape."""
    log.error("unexpected error", exc_info=error)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Every error is ``{"detail": ...}``: API errors, invalid requests (422), and bugs (500)."""
    app.add_exception_handler(ApiError, _answer)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _unexpected)
