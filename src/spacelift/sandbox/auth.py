"""API keys, the tokens ``apiKeyUser`` issues for them, and who a bearer token belongs to.

Tokens are opaque random strings (Spacelift's are JWTs; the client never looks inside) that expire
``lifetime`` seconds after they are issued, by the sandbox's clock. Static ``api_tokens`` never
expire, like a ``SPACELIFT_API_TOKEN`` handed out by an administrator.
"""

import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from spacelift.sandbox.runtime import Clock

BEARER = "bearer "


@dataclass(frozen=True)
class Issued:
    """A token issued for an API key, valid until ``valid_until`` (unix seconds)."""

    token: str
    key_id: str
    valid_until: float


class TokenStore:
    """Checks API keys, issues tokens and tells who sent a request."""

    def __init__(
        self, keys: Mapping[str, str], static: Iterable[str], lifetime: float, clock: Clock
    ) -> None:
        self._keys = dict(keys)
        self._static = frozenset(static)
        self.lifetime = lifetime
        self._clock = clock
        self._issued: dict[str, Issued] = {}
        self.logins = 0

    def login(self, key_id: str, secret: str) -> Issued | None:
        """A new token for a known key and its secret; ``None`` for anything else."""
        expected = self._keys.get(key_id)
        if expected is None or not hmac.compare_digest(expected.encode(), secret.encode()):
            return None
        now = self._clock.now()
        self._issued = {t: i for t, i in self._issued.items() if i.valid_until > now}
        issued = Issued(f"sandbox.{secrets.token_urlsafe(32)}", key_id, now + self.lifetime)
        self._issued[issued.token] = issued
        self.logins += 1
        return issued

    def caller(self, authorization: str | None) -> str | None:
        """Who the ``Authorization`` header belongs to (``api::<key id>``), or ``None``."""
        if not authorization or not authorization.lower().startswith(BEARER):
            return None
        token = authorization[len(BEARER) :].strip()
        if any(hmac.compare_digest(token.encode(), known.encode()) for known in self._static):
            return "api::token"
        issued = self._issued.get(token)
        if issued is None or issued.valid_until <= self._clock.now():
            return None
        return f"api::{issued.key_id}"

    def expire_all(self) -> None:
        """Forget every issued token, as if they had all expired (static tokens stay)."""
        self._issued.clear()
