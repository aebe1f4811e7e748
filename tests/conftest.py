"""Suite-wide hooks."""

import pytest

from app.runtime import exit_process

_exit_status = 0


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:  # noqa: ARG001
    global _exit_status  # noqa: PLW0603 - carried to pytest_unconfigure
    _exit_status = exitstatus


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:  # noqa: ARG001
    """Leave with os._exit once pytest is done, to dodge temporalio's exit-time abort.

    A process that ran a Temporal Worker can die at interpreter shutdown with SIGABRT
    (temporalio/sdk-python#300: the Rust runtime's threads outlive the event loop), failing a
    suite that passed. Everything pytest reports has been written by now.
    """
    exit_process(_exit_status)
