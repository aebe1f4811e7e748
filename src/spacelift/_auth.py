"""Bearer tokens for the Spacelift API: a ready token, or an API key exchanged for a JWT.

The JWT is cached and exchanged again once ``now + 30 s`` passes its ``validUntil`` (as spacectl
does). Concurrent callers share one exchange: the first takes the lock and logs in, the others wait
on the lock and then find a fresh token (double-checked locking).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

REFRESH_MARGIN = 30.0
"""Seconds before ``validUntil`` at which a JWT counts as expired."""

Login = Callable[[str, str], Awaitable[tuple[str, float]]]
"""Exchanges (key id, key secret) for (JWT, validUntil in unix seconds)."""


class TokenSource:
    """Hands out the bearer token for the next request."""

    def __init__(
        self,
        *,
        api_token: str | None = None,
        api_key_id: str | None = None,
        api_key_secret: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if api_token is None and (api_key_id is None or api_key_secret is None):
            msg = "give either api_token, or both api_key_id and api_key_secret"
            raise ValueError(msg)
        self._static = api_token
        self._key = None if api_key_id is None else (api_key_id, api_key_secret or "")
        self._clock = clock
        self._jwt: str | None = None
        self._valid_until = 0.0
        self._lock = asyncio.Lock()
        self._issued: list[str] = []

    @property
    def can_refresh(self) -> bool:
        """Whether a refused token can be replaced by logging in again."""
        return self._static is None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential value that must never appear in a message."""
        values = [self._static, self._key[1] if self._key else None, *self._issued]
        return tuple(value for value in values if value)

    def _fresh(self) -> str | None:
        if self._jwt is not None and self._clock() + REFRESH_MARGIN < self._valid_until:
            return self._jwt
        return None

    async def token(self, login: Login) -> str:
        """The ready token, or a cached JWT that is not about to expire, logging in if needed."""
        if self._static is not None:
            return self._static
        if (jwt := self._fresh()) is not None:
            return jwt
        async with self._lock:
            if (jwt := self._fresh()) is not None:
                return jwt
            return await self._exchange(login)

    async def refresh(self, refused: str, login: Login) -> str:
        """A new JWT after ``refused`` got a 401, unless another caller already replaced it."""
        async with self._lock:
            if self._jwt is not None and self._jwt != refused and self._fresh() is not None:
                return self._jwt
            return await self._exchange(login)

    async def _exchange(self, login: Login) -> str:
        assert self._key is not None  # noqa: S101 - only reachable without a static token
        jwt, valid_until = await login(*self._key)
        self._jwt, self._valid_until = jwt, valid_until
        self._issued = [*self._issued[-1:], jwt]
        return jwt
