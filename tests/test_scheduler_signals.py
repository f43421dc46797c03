"""Stop signals in-process: what is installed, when, and what the first and second signal do.

The real-process behaviour (systemd/docker stop) is in tests/integration/test_sigterm.py.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from skylaunch import App
from skylaunch.testing import run_until, runs, simulated_app


@pytest.fixture(autouse=True)
def default_handlers() -> Iterator[None]:
    """Each test starts with Python's defaults, and gets them back whatever it did."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def deliver(signum: signal.Signals) -> None:
    """What the interpreter does when ``signum`` arrives, without risking the test process.

    A real ``raise_signal`` would kill pytest (SIGTERM at its default) or interrupt it (SIGINT)
    if the handler were missing: call the handler in place, and fail the run if it is not ours.
    Real delivery to a real process is tested in tests/integration/test_sigterm.py.
    """
    handler = signal.getsignal(signum)
    if handler in (signal.SIG_DFL, signal.SIG_IGN, signal.default_int_handler, None):
        raise AssertionError(f"no stop handler for {signum.name}: {handler!r}")
    assert callable(handler)
    handler(signum, None)


def app_raising(*signals: signal.Signals) -> tuple[App, list[str]]:
    """An app whose task sends itself ``signals`` (one per run); the hooks write to a list."""
    app = simulated_app("2024-01-01 00:00", tz="UTC")
    seen: list[str] = []

    @app.task("every 1 minute")
    def send() -> None:
        seen.append(f"handler during run: {signal.getsignal(signal.SIGTERM)!r}")
        for signum in signals:
            deliver(signum)
        seen.append("run went on")

    @app.session.hook_shutdown()
    def goodbye() -> None:
        seen.append("shutdown hook")

    return app, seen


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_shuts_down_gracefully_and_restores_the_handler(
    signum: signal.Signals, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="skylaunch.scheduler")
    app, seen = app_raising(signum)
    run_until(app, "2024-01-01 01:00")  # would run `send` 60 times without the signal
    assert len(runs(app, "send", "success")) == 1
    assert "bound method Scheduler._on_signal" in seen[0]
    assert seen[1:] == ["run went on", "shutdown hook"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    messages = [r.getMessage() for r in caplog.records if r.name == "skylaunch.scheduler"]
    assert f"{signum.name} received: shutting down" in " ".join(messages)
    assert messages[-1] == f"Shut down ({signum.name} received)"


def test_a_second_signal_forces_the_shutdown(caplog: pytest.LogCaptureFixture) -> None:
    app, seen = app_raising(signal.SIGTERM, signal.SIGINT)
    run_until(app, "2024-01-01 01:00")
    assert app.session.scheduler._forced
    assert seen[1:] == ["run went on", "shutdown hook"]
    messages = [r.getMessage() for r in caplog.records if r.name == "skylaunch.scheduler"]
    assert "SIGINT received again: terminating the running tasks now" in messages


def test_a_signal_wins_over_a_requested_restart() -> None:
    app = simulated_app("2024-01-01 00:00", tz="UTC", restarting="recall")

    @app.task("every 1 minute")
    def send() -> None:
        app.session.restart()
        deliver(signal.SIGTERM)

    run_until(app, "2024-01-01 01:00")
    assert len(runs(app, "send")) == 1  # stopped, not recalled


def test_a_handler_of_the_application_is_left_alone() -> None:
    received: list[int] = []

    def own(signum: int, frame: Any) -> None:
        received.append(signum)

    signal.signal(signal.SIGTERM, own)
    app, _ = app_raising(signal.SIGTERM)
    run_until(app, "2024-01-01 00:03")
    assert received == [signal.SIGTERM] * 3  # each run sent it; the scheduler went on
    assert len(runs(app, "send")) == 3
    assert signal.getsignal(signal.SIGTERM) is own


def test_outside_the_main_thread_no_handler_is_installed() -> None:
    app = simulated_app("2024-01-01 00:00", tz="UTC")
    seen: list[object] = []

    @app.task("every 1 minute")
    def look() -> None:
        seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=run_until, args=(app, "2024-01-01 00:02"))
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    assert seen == [signal.SIG_DFL] * 2
