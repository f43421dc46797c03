"""Ctrl-C (SIGINT) stops a real scheduler cleanly: no traceback, exit code 0, shutdown logged."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

APP = textwrap.dedent(
    """
    import logging, signal, sys
    # A shell running this suite in the background ignores SIGINT and children inherit that;
    # a terminal user's Ctrl-C is what this test is about, so restore Python's handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from skylaunch import App
    from skylaunch.conds import every

    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(message)s")
    app = App(config={"execution": "main"})

    @app.task(every("50 ms"))
    def tick():
        print("tick", flush=True)

    app.run()
    print("returned cleanly", flush=True)
    """
)


@pytest.mark.slow
def test_sigint_stops_the_scheduler_cleanly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", APP],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("tick"):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "returned cleanly" in out
    assert "skylaunch.scheduler Shut down" in out
    assert "Traceback" not in err
