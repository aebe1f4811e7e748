"""The operator commands' way to the HTTP API (``STACKCHAIN_URL``, bearer token when set)."""

from typing import Any

import httpx

from temporal.inputs import ChainStatus


class OperatorError(Exception):
    """The API could not be reached, or refused the request; the message says which and why."""


TIMEOUT = 30.0
"""Seconds one operator command waits for the API."""


class ApiClient:
    """A small synchronous client of ``/api/v1``."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
    ) -> None:
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
