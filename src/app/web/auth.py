"""Bearer-token auth of ``/api/v1``, and the loopback rule when no token is set.

The bind rule (no public address without a token) is ``app.core.settings.check_bind``: the CLI
checks it before anything starts, without loading the web framework.
"""

import hmac

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.errors import ForbiddenError, UnauthorizedError
from app.core.settings import is_loopback

bearer = HTTPBearer(auto_error=False, description="STACKCHAIN_API_TOKEN, when it is set.")


def check_bearer(
    request: Request, credentials: HTTPAuthorizationCredentials | None, token: bytes | None
) -> None:
    """Compare the bearer token in constant time; without a token, loopback clients only."""
    if token is None:
        client = request.client.host if request.client else ""
        if not is_loopback(client):
            msg = "STACKCHAIN_API_TOKEN is not set: the API answers loopback clients only"
            raise ForbiddenError(msg)
        return
    if credentials is None or credentials.scheme.lower() != "bearer":
        msg = "missing bearer token"
        raise UnauthorizedError(msg)
    if not hmac.compare_digest(credentials.credentials.encode(), token):
        msg = "bad bearer token"
        raise UnauthorizedError(msg)
