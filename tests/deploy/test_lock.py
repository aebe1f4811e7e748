"""The lock files pin exactly what pyproject.toml asks for, each pin with its hashes.

``make`` installs requirements-dev.lock and the image requirements.lock, both with
``--require-hashes``; ``make lock`` writes them. A dependency added, removed or narrowed in
pyproject.toml without ``make lock`` fails here.
"""

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
PROJECT = "stackchain (pyproject.toml)"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")


@dataclass
class Pin:
    """One package of a lock file: its version, hashes, and what asked for it."""

    version: str
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def read_lock(path: Path) -> dict[str, Pin]:
    """The pins of a ``uv pip compile --generate-hashes`` file, by canonical name."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if match := PIN.match(line):
            current = Pin(match["version"])
            pins[canonicalize_name(match["name"])] = current
        elif current is not None and stripped.startswith("--hash=sha256:"):
            current.hashes.append(stripped.removeprefix("--hash=sha256:").rstrip(" \\"))
        elif current is not None and stripped.startswith("# via"):
            rest = stripped.removeprefix("# via").strip()
            current.via += [rest] if rest else []
        elif current is not None and stripped.startswith("#   "):
            current.via.append(stripped.removeprefix("#   ").strip())
    return pins


def wanted(extras: list[str]) -> list[Requirement]:
    """pyproject.toml's dependencies, and those of ``extras``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = [Requirement(spec) for spec in project["dependencies"]]
    for extra in extras:
        found += [Requirement(spec) for spec in project["optional-dependencies"][extra]]
    return found


LOCKS = [("requirements.lock", []), ("requirements-dev.lock", ["dev"])]


@pytest.mark.parametrize(("lock", "extras"), LOCKS)
def test_every_dependency_is_pinned_within_its_range(lock: str, extras: list[str]) -> None:
    """Each requirement of pyproject.toml has a pin that its version range allows."""
    pins = read_lock(ROOT / lock)
    for requirement in wanted(extras):
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{lock} does not pin {requirement.name}: run `make lock`"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{lock} pins {requirement.name}=={pin.version}, outside {requirement}: run `make lock`"
        )


@pytest.mark.parametrize(("lock", "extras"), LOCKS)
def test_the_lock_holds_nothing_pyproject_does_not_ask_for(lock: str, extras: list[str]) -> None:
    """Every pin is asked for by pyproject.toml or by another pin, and carries hashes."""
    pins = read_lock(ROOT / lock)
    direct = {canonicalize_name(requirement.name) for requirement in wanted(extras)}
    for name, pin in pins.items():
        assert pin.hashes, f"{lock}: {name} has no hashes"
        parents = {canonicalize_name(via) for via in pin.via if via != PROJECT}
        assert parents <= pins.keys(), f"{lock}: {name} is asked for by {parents - pins.keys()}"
        if PROJECT in pin.via:
            assert name in direct, f"{lock}: {name} is no longer in pyproject.toml: `make lock`"
        else:
            assert parents, f"{lock}: nothing asks for {name}"


def test_the_runtime_lock_is_the_dev_lock_without_the_dev_tools() -> None:
    """The image runs the versions the tests ran: the same pin for every runtime package."""
    runtime = read_lock(ROOT / "requirements.lock")
    dev = read_lock(ROOT / "requirements-dev.lock")
    differ = {
        name: (pin.version, dev[name].version)
        for name, pin in runtime.items()
        if name not in dev or dev[name].version != pin.version
    }
    assert not differ, f"runtime and dev locks disagree (runtime, dev): {differ}"
