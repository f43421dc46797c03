"""A failing task is visible on stderr when nobody configured logging; configured logging rules.

Before: with no logging configured a failing task printed nothing at all (the session's repo
handler on ``skylaunch.task`` kept Python's last resort away), and ``basicConfig(level=WARNING)``
printed every run's status lines (the task logger's own INFO level let them through).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

APP = textwrap.dedent(
    """
    import logging, sys
    setup = sys.argv[1]
    if setup == "warning":
        logging.basicConfig(level=logging.WARNING)
    elif setup == "info":
        logging.basicConfig(level=logging.INFO)
    elif setup == "critical":
        logging.getLogger("skylaunch").setLevel(logging.CRITICAL)
    from skylaunch import App
    from skylaunch.conds import after_success, every

    app = App(config={"shut_cond": "task 'transform' has succeeded", "execution": sys.argv[2]})

    @app.task(every("1 hour"))
    def fetch():
        raise RuntimeError("upstream is down")

    @app.task(every("1 hour"))
    def extract():
        return 1

    @app.task(after_success("extract"))
    def transform():
        pass

    if __name__ == "__main__":
        app.run()
    """
)


def run_app(setup: str, execution: str = "async") -> str:
    proc = subprocess.run(
        [sys.executable, "-c", APP, setup, execution],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("execution", ["async", "thread", "main"])
def test_without_logging_a_failure_reaches_stderr(execution: str) -> None:
    err = run_app("none", execution)
    lines = err.splitlines()
    assert lines[0] == "Task 'fetch' status: 'fail'"
    assert lines[1] == "Traceback (most recent call last):"
    assert "RuntimeError: upstream is down" in lines
    assert "status: 'run'" not in err
    assert "status: 'success'" not in err


@pytest.mark.slow
def test_basic_config_warning_shows_failures_but_no_status_lines() -> None:
    err = run_app("warning")
    assert "ERROR:skylaunch.task:Task 'fetch' status: 'fail'" in err
    assert "RuntimeError: upstream is down" in err
    assert err.count("status: 'fail'") == 1  # printed by the user's handler, not twice
    assert "status: 'run'" not in err
    assert "status: 'success'" not in err


@pytest.mark.slow
def test_basic_config_info_shows_every_status_line() -> None:
    err = run_app("info")
    assert "INFO:skylaunch.task:Task 'extract' status: 'run'" in err
    assert "INFO:skylaunch.task:Task 'transform' status: 'success'" in err
    assert err.count("status: 'fail'") == 1


@pytest.mark.slow
def test_a_level_set_on_skylaunch_silences_even_failures() -> None:
    err = run_app("critical")
    assert "status: 'fail'" not in err
    assert "upstream is down" not in err
