"""The loopback-only mode's rules on ``Host`` and ``Origin``, as an ASGI middleware.

Without ``STACKCHAIN_API_TOKEN`` the server trusts whoever reaches it on loopback. A web page can
reach loopback too: through DNS rebinding (its own name, resolved to 127.0.0.1, so the browser
sends ``Host: rebind.attacker.example``) or with a blind cross-site POST (the browser sends the
page's ``Origin``). So in that mode, on every route but the probes:

- a ``Host`` that is not a loopback name or address is answered ``400``;
- a ``POST``, ``PUT``, ``PATCH`` or ``DELETE`` whose ``Origin`` is neither the request's own origin
  (its scheme and ``Host``) nor the public URL's is answered ``403``. A request without ``Origin``
  (a CLI, curl) is not a browser's cross-site request, and passes.
"""

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import ApiError, BadRequestError, ForbiddenError
from app.web.error_handlers import refusal

PROBES = frozenset({"/healthz", "/readyz"})
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def split_host(host: str) -> tuple[str, int | None] | None:
    """``name[:port]``, ``[v6]:port`` or a bare IPv6 address as (name, port); None if malformed."""
    host = host.strip().lower()
    port = ""
    if host.startswith("["):
        name, bracket, port = host[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            return None
        port = port[1:]
    elif host.count(":") == 1:
        name, _, port = host.partition(":")
    else:
        name = host  # a bare name, or an IPv6 address without brackets (``::1``)
    if port and not (port.isdigit() and len(port) <= 5):  # noqa: PLR2004 - 65535
        return None
    return name, int(port) if port else None


def is_loopback_name(name: str) -> bool:
    """``localhost`` and its subdomains (RFC 6761), ``127.0.0.0/8`` and ``::1``."""
    name = name.removesuffix(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def origin_of(scheme: str, host: str) -> str | None:
    """``scheme://name[:port]`` with the scheme's default port left out; None if malformed."""
    parts = split_host(host)
    if parts is None or not parts[0]:
        return None
    name, port = parts
    name = f"[{name}]" if ":" in name else name
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{name}"
    return f"{scheme}://{name}:{port}"


def url_origin(url: str) -> str | None:
    """The origin of a URL (``http://127.0.0.1:8000/x`` is ``http://127.0.0.1:8000``)."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    return origin_of(parts.scheme.lower(), parts.netloc.rpartition("@")[2])


class LoopbackGuard:
    """ASGI middleware for the loopback-only mode; ``public_url`` is ``STACKCHAIN_PUBLIC_URL``."""

    def __init__(self, app: ASGIApp, *, public_url: str | None) -> None:
        self.app = app
        self.public_origin = url_origin(public_url) if public_url else None

    def check(self, scope: Scope) -> None:
        """Raise the refusal this request gets, if any."""
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        parts = split_host(host)
        if parts is None or not is_loopback_name(parts[0]):
            msg = "STACKCHAIN_API_TOKEN is not set: the server answers a loopback Host only"
            raise BadRequestError(msg)
        origin = headers.get("origin")
        if scope["method"] not in CHANGING or origin is None:
            return
        own = origin_of(scope["scheme"], host)
        if url_origin(origin) not in {own, self.public_origin} - {None}:
            msg = "a changing request from a foreign Origin (STACKCHAIN_API_TOKEN is not set)"
            raise ForbiddenError(msg)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a foreign Host (400) or Origin (403) before the app runs."""
        if scope["type"] == "http" and scope["path"] not in PROBES:
            try:
                self.check(scope)
            except ApiError as error:
                await refusal(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)
