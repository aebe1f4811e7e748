"""The webhook's gate: the body cap (413) first, then X-Signature-256 (401), before any parsing."""

from collections.abc import AsyncIterator

import httpx
import pytest

from app.web.webhooks.handler import MAX_BODY_BYTES
from tests.unit.app.web.webapp import SECRET, WebApp, sample, sign

URL = "/webhooks/spacelift"
BODY = sample("run-finished-tracked")


async def test_valid_signature_is_accepted(web: WebApp, client: httpx.AsyncClient) -> None:
    """A body signed with the secret is accepted and handed to the lane."""
    answer = await client.post(URL, content=BODY, headers=sign(BODY))
    assert answer.status_code == 202
    assert answer.json() == {"status": "accepted"}
    assert len(web.signaler.events) == 1


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("wrong secret", sign(BODY, secret="not-" + SECRET)),
        ("missing", {"Content-Type": "application/json"}),
        ("no prefix", {"X-Signature-256": sign(BODY)["X-Signature-256"].removeprefix("sha256=")}),
        ("sha1", {"X-Signature-256": "sha1=" + "0" * 40}),
        ("short", {"X-Signature-256": "sha256=abc"}),
        ("not hex", {"X-Signature-256": "sha256=" + "z" * 64}),
        ("empty", {"X-Signature-256": ""}),
        ("non-ascii", {"X-Signature-256": "sha256=" + "é" * 64}),
    ],
)
async def test_bad_signatures_are_refused(
    web: WebApp, client: httpx.AsyncClient, case: str, headers: dict[str, str]
) -> None:
    """A wrong, missing or malformed signature is 401 and nothing reaches a lane."""
    encoded = {key.encode(): value.encode() for key, value in headers.items()}
    answer = await client.post(URL, content=BODY, headers=encoded)
    assert answer.status_code == 401, case
    assert "detail" in answer.json()
    assert web.signaler.events == []


async def test_a_body_changed_by_one_byte_is_refused(
    web: WebApp, client: httpx.AsyncClient
) -> None:
    """The signature covers the exact bytes: one changed byte (even whitespace) is 401."""
    headers = sign(BODY)
    for changed in (BODY.replace(b"FINISHED", b"FINISHEE", 1), BODY + b" ", BODY[:-1]):
        answer = await client.post(URL, content=changed, headers=headers)
        assert answer.status_code == 401
    assert web.signaler.events == []


async def test_signature_is_checked_before_parsing(web: WebApp, client: httpx.AsyncClient) -> None:
    """An unsigned non-JSON body is 401, not 422: nothing is parsed before the signature."""
    answer = await client.post(URL, content=b"not json", headers={"X-Signature-256": "bad"})
    assert answer.status_code == 401
    assert "www-authenticate" not in answer.headers  # a bearer token would not help here
    assert web.signaler.events == []


async def test_body_over_the_cap_is_413_before_the_signature(client: httpx.AsyncClient) -> None:
    """A body over 1 MiB is 413 even when unsigned: the cap comes first."""
    big = b"{" + b" " * MAX_BODY_BYTES + b"}"
    answer = await client.post(URL, content=big, headers={"X-Signature-256": "sha256=" + "0" * 64})
    assert answer.status_code == 413
    signed = await client.post(URL, content=big, headers=sign(big))
    assert signed.status_code == 413


async def test_body_over_the_cap_without_content_length_is_413(client: httpx.AsyncClient) -> None:
    """A streamed (chunked) body is counted as it arrives: Content-Length is not trusted."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * (64 * 1024)

    answer = await client.post(URL, content=chunks(), headers=sign(b""))
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413


async def test_a_lying_content_length_does_not_lift_the_cap(client: httpx.AsyncClient) -> None:
    """A small Content-Length on a big body is still 413: the bytes read are what count."""
    big = b" " * (MAX_BODY_BYTES + 1)
    request = client.build_request("POST", URL, content=big, headers=sign(big))
    request.headers["Content-Length"] = "10"
    answer = await client.send(request)
    assert answer.status_code == 413


async def test_body_at_the_cap_is_read(client: httpx.AsyncClient) -> None:
    """Exactly 1 MiB is under the cap: it gets past to the signature and the parser (422)."""
    body = b" " * MAX_BODY_BYTES
    answer = await client.post(URL, content=body, headers=sign(body))
    assert answer.status_code == 422
