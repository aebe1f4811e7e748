"""The operator commands never send the bearer token where it could be read on the way: plain
http to a host that is not loopback takes ``--insecure``; https and loopback need nothing."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from app.cli import app
from app.cli.operator_client import ApiClient, UnsafeUrlError, token_exposure
from app.core.settings import get_settings

TOKEN = "operator-token-4f1e"
COMMANDS = (
    ["chains"],
    ["status", "chain-a-1"],
    ["cancel", "chain-a-1"],
    ["approve", "chain-a-1", "b"],
    ["trigger", "a"],
)


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test reads its own environment, from an empty working directory."""
    monkeypatch.chdir(tmp_path)
    for name in ("STACKCHAIN_URL", "STACKCHAIN_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(url: str, *args: str, token: str | None = TOKEN) -> tuple[int, str, respx.Route]:
    """``stackchain ARGS`` against ``url``, every request answered by respx: exit code, output,
    and the route that saw whatever was sent."""
    env = {"STACKCHAIN_URL": url} | ({"STACKCHAIN_API_TOKEN": token} if token else {})
    with respx.mock(assert_all_called=False) as router:
        route = router.route(url__startswith=url.rstrip("/")).respond(json={"chains": []})
        result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output, route


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_every_operator_command_refuses_plain_http_to_a_remote_host(command: list[str]) -> None:
    """Token set, http://10.0.0.5: exit 2 with the way out, and not one request sent."""
    code, output, route = run("http://10.0.0.5:8000", *command)
    assert code == 2, output
    assert "refusing to send STACKCHAIN_API_TOKEN" in output
    assert "https://" in output
    assert "--insecure" in output
    assert route.call_count == 0


def test_insecure_sends_the_token_anyway() -> None:
    """With --insecure the operator has chosen: the request goes, with its bearer token."""
    code, output, route = run("http://10.0.0.5:8000", "chains", "--insecure")
    assert code == 0, output
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "url",
    ["https://stackchain.example.com", "http://127.0.0.1:8000", "http://localhost:8000",
     "http://[::1]:8000", "http://127.3.2.1"],
)  # fmt: skip
def test_https_and_loopback_carry_the_token(url: str) -> None:
    """Over https, or to this machine, the token goes without --insecure."""
    code, output, route = run(url, "chains")
    assert code == 0, output
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_without_a_token_there_is_nothing_to_protect() -> None:
    """No STACKCHAIN_API_TOKEN: plain http to a remote host is allowed, with no header."""
    code, output, route = run("http://10.0.0.5:8000", "chains", token=None)
    assert code == 0, output
    assert "Authorization" not in route.calls.last.request.headers


def test_a_url_that_is_no_http_url_is_wrong_usage() -> None:
    """STACKCHAIN_URL=ftp://... or a bare host:port is exit 2, naming the variable."""
    for url in ("ftp://10.0.0.5", "127.0.0.1:8000"):
        code, output, _ = run(url, "chains")
        assert code == 2, output
        assert "STACKCHAIN_URL" in output


LOOPBACK_HOSTS = st.one_of(
    st.sampled_from(["localhost", "LOCALHOST", "LocalHost", "[::1]", "[0:0:0:0:0:0:0:1]"]),
    st.tuples(*[st.integers(0, 255)] * 3).map(lambda parts: "127." + ".".join(map(str, parts))),
)
REMOTE_IPV4 = st.ip_addresses(v=4).filter(lambda ip: not ip.is_loopback).map(str)
REMOTE_IPV6 = st.ip_addresses(v=6).filter(lambda ip: not ip.is_loopback).map(lambda ip: f"[{ip}]")
NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True).filter(
    lambda name: name != "localhost"
)
TRICKS = st.sampled_from(
    ["localhost@evil.example", "127.0.0.1@10.0.0.5", "localhost.", "127.1", "0x7f.0.0.1",
     "2130706433", "localhost.evil.example", "[::ffff:127.0.0.1]", "evil.example#@localhost"]
)  # fmt: skip
"""Hosts that look local to a careless eye, or resolve so on some systems: all refused."""


def url_of(scheme: str, host: str, port: int | None, path: str) -> str:
    where = f"{host}:{port}" if port is not None and "#" not in host else host
    return f"{scheme}://{where}{path}"


PORTS = st.none() | st.integers(1, 65535)
PATHS = st.sampled_from(["", "/", "/stackchain", "/a/b/"])


@given(st.sampled_from(["http", "HTTP", "Http"]), NAMES | REMOTE_IPV4 | REMOTE_IPV6 | TRICKS,
       PORTS, PATHS)  # fmt: skip
def test_plain_http_to_anything_but_loopback_is_refused(
    scheme: str, host: str, port: int | None, path: str
) -> None:
    """Any name, any non-loopback address, and look-alikes of local ones: refused over http."""
    url = url_of(scheme, host, port, path)
    assert token_exposure(url) is not None, url
    with pytest.raises(UnsafeUrlError, match="--insecure"):
        ApiClient(url, token=TOKEN)
    ApiClient(url, token=TOKEN, insecure=True).close()
    ApiClient(url, token=None).close()


@given(st.sampled_from(["http", "HTTP"]), LOOPBACK_HOSTS, PORTS, PATHS)
def test_plain_http_to_loopback_is_allowed(
    scheme: str, host: str, port: int | None, path: str
) -> None:
    """localhost, 127.0.0.0/8 and ::1, in any spelling of the scheme, carry the token."""
    url = url_of(scheme, host, port, path)
    assert token_exposure(url) is None, url
    ApiClient(url, token=TOKEN).close()


@given(st.sampled_from(["https", "HTTPS"]), LOOPBACK_HOSTS | NAMES | REMOTE_IPV4 | REMOTE_IPV6,
       PORTS, PATHS)  # fmt: skip
def test_https_to_any_host_is_allowed(scheme: str, host: str, port: int | None, path: str) -> None:
    """TLS protects the token on the way, wherever it goes."""
    url = url_of(scheme, host, port, path)
    assert token_exposure(url) is None, url
    ApiClient(url, token=TOKEN).close()
