"""The operator commands' way to the HTTP API (``STACKCHAIN_URL``, bearer token when set).

The bearer token travels only where no one on the way can read it: over https, or over plain
http to a loopback address. Anywhere else takes ``--insecure`` (:func:`token_exposure`).
"""

from typing import Any

import httpx

from app.core.settings import is_loopback
from temporal.inputs import ChainStatus


class OperatorError(Exception):
    """The API could not be reached, or refused the request; the message says which and why."""


class UnsafeUrlError(OperatorError):
    """``STACKCHAIN_URL`` is not a URL the client may use (with its token): wrong usage."""


def token_exposure(url: str) -> str | None:
    """Why a bearer token sent to ``url`` could be read on the way; ``None`` when it cannot.

    ``url`` is read by httpx, the parser that decides where requests go, so a user part
    (``http://localhost@host``) or a fragment cannot make a remote host look local.
    Raises :class:`UnsafeUrlError` when ``url`` is no http(s) URL with a host.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        msg = f"STACKCHAIN_URL {url!r} is not a URL: {error}"
        raise UnsafeUrlError(msg) from None
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        msg = f"STACKCHAIN_URL must be an http:// or https:// URL with a host, got {url!r}"
        raise UnsafeUrlError(msg)
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        return f"{parsed.host} is reached over plain http, not https, and is not a loopback address"
    return None


TIMEOUT = 30.0
"""Seconds one operator command waits for the API."""


class ApiClient:
    """A small synchronous client of ``/api/v1``.

    Raises :class:`UnsafeUrlError` for a ``url`` that would expose ``token``, unless ``insecure``.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        insecure: bool = False,
    ) -> None:
        exposure = token_exposure(url)
        if token and exposure and not insecure:
            msg = (
                f"refusing to send STACKCHAIN_API_TOKEN to {url}: {exposure}, so anyone on the "
                "way could read it. Use an https:// STACKCHAIN_URL, or --insecure to send it anyway"
            )
            raise UnsafeUrlError(msg)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:  # noqa: ANN401 - JSON
        try:
            response = self._http.request(method, f"/api/v1{path}", **kwargs)
        except httpx.HTTPError as error:
            msg = f"cannot reach the stackchain API at {self.url}: {error}"
            raise OperatorError(msg) from None
        if response.is_success:
            return response.json()
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        hint = (
            " (set STACKCHAIN_API_TOKEN)"
            if response.status_code == httpx.codes.UNAUTHORIZED
            else ""
        )
        msg = f"{response.status_code}: {detail}{hint}"
        raise OperatorError(msg)

    def start_chain(self, stack: str, *, include_root: bool) -> str:
        """Start a manual chain; its id."""
        body = {"stack": stack, "include_root": include_root}
        return str(self._call("POST", "/chains", json=body)["chain_id"])

    def chains(self, status: ChainStatus | None = None) -> list[dict[str, Any]]:
        """Chains, newest first."""
        params = {"status": status.value} if status else {}
        found: list[dict[str, Any]] = self._call("GET", "/chains", params=params)["chains"]
        return found

    def chain(self, chain_id: str) -> dict[str, Any]:
        """One chain's status document."""
        document: dict[str, Any] = self._call("GET", f"/chains/{chain_id}")
        return document

    def cancel(self, chain_id: str) -> dict[str, Any]:
        """Cancel a chain."""
        answer: dict[str, Any] = self._call("POST", f"/chains/{chain_id}/cancel")
        return answer

    def approve(self, chain_id: str, stack: str) -> dict[str, Any]:
        """Confirm the stack's waiting run."""
        answer: dict[str, Any] = self._call("POST", f"/chains/{chain_id}/stacks/{stack}/approve")
        return answer
