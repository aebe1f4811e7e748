"""Bearer-token auth of ``/api/v1``, and the loopback rule when no token is set.

:class:`ApiAuth` checks a request's headers before the app runs, so nothing reads the body of an
unauthorised request; the routes' ``require_token`` dependency checks again, and declares the
scheme in the OpenAPI document. The bind rule (no public address without a token) is
``app.core.settings.check_bind``: the CLI checks it before anything starts, without loading the
web framework.
"""

import hmac

from fastapi.security import HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import ApiError, ForbiddenError, UnauthorizedError
from app.core.settings import is_loopback
from app.web.error_handlers import refusal

API_PREFIX = "/api/v1"

bearer = HTTPBearer(auto_error=False, description="STACKCHAIN_API_TOKEN, when it is set.")


def authorize(authorization: str | None, client: str, token: bytes | None) -> None:
    """Compare the bearer token in constant time; without a token, loopback clients only."""
    if token is None:
        if not is_loopback(client):
            msg = "STACKCHAIN_API_TOKEN is not set: the API answers loopback clients only"
            raise ForbiddenError(msg)
        return
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        msg = "missing bearer token"
        raise UnauthorizedError(msg)
    if not hmac.compare_digest(credentials.encode(), token):
        msg = "bad bearer token"
        raise UnauthorizedError(msg)


def client_host(scope: Scope) -> str:
    """The address of the request's client, or "" when the server does not say."""
    client = scope.get("client")
    return str(client[0]) if client else ""


class ApiAuth:
    """ASGI middleware: ``/api/v1`` requests are authorised from their headers alone."""

    def __init__(self, app: ASGIApp, *, token: bytes | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 401 or 403 before the app runs, or let the request through."""
        if scope["type"] == "http" and f"{scope['path']}/".startswith(f"{API_PREFIX}/"):
            authorization = Headers(scope=scope).get("authorization")
            try:
                authorize(authorization, client_host(scope), self.token)
            except ApiError as error:
                await refusal(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)
