"""Where errors become the web server's answers: every error is ``{"detail": ...}`` JSON."""

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.core.errors import ApiError, BadSignatureError, UnauthorizedError, UnavailableError
from app.core.logs import get_logger

log = get_logger(__name__)


def error_response(error: ApiError) -> JSONResponse:
    """The answer to an API error, from a route or (through :func:`refusal`) a middleware."""
    headers = None
    if isinstance(error, UnavailableError):
        log.warning("unavailable", detail=str(error))
        headers = {"Retry-After": "5"}
    elif isinstance(error, UnauthorizedError) and not isinstance(error, BadSignatureError):
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse({"detail": str(error)}, status_code=error.status_code, headers=headers)


def refusal(error: ApiError) -> JSONResponse:
    """The answer of a middleware that refuses a request before the app reads its body.

    ``Connection: close`` tells the server to drop the connection after it, rather than read and
    discard whatever body the client still sends.
    """
    response = error_response(error)
    response.headers["Connection"] = "close"
    return response


async def _answer(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)  # noqa: S101 - registered for ApiError only
    return error_response(error)


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
