"""A script without ``if __name__ == "__main__":`` and a ``process`` task fails fast and clearly.

The child re-imports the script; before, the scheduler it started there ran forever, the body
never ran, and the parent's run waited for its timeout (30 minutes by default).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ._proc import child_env

SCRIPT = """\
import os
import time

from skylaunch import App
from skylaunch.conds import daily

# The child re-imports this script and inherits the environment: only the scheduler started
# first finds its own pid here, so only it shuts down (one started in the child would not).
FIRST_PID = int(os.environ.setdefault("NOGUARD_FIRST_PID", str(os.getpid())))
app = App(execution="main", cycle_sleep=0.01)  # the default timeout: 30 minutes
started = time.monotonic()


@app.task(daily, execution="process")
def work():
    print("body ran", flush=True)


@app.after_run()
def report(task, outcome):
    if task.name == "work":
        seconds = time.monotonic() - started
        print(f"{outcome.action} {seconds:.1f}", flush=True)
        print(outcome.exc_text, flush=True)
        if os.getpid() == FIRST_PID:
            app.session.shut_down()


app.run()
"""

TIMEOUT_S = 60.0  # the scheduler stops by itself within seconds; this only bounds a hang


@pytest.mark.timeout(TIMEOUT_S + 30)  # the subprocess's own timeout fails first, and clearly
def test_process_task_in_a_script_without_main_guard_fails_at_once(tmp_path: Path) -> None:
    script = tmp_path / "no_guard.py"
    script.write_text(SCRIPT)
    env = child_env()
    env.pop("NOGUARD_FIRST_PID", None)
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(script)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=TIMEOUT_S,
    )
    elapsed = time.monotonic() - began
    assert proc.returncode == 0, proc.stderr
    assert "body ran" not in proc.stdout
    action, seconds = proc.stdout.splitlines()[0].split()
    assert action == "fail"
    assert float(seconds) < 20.0  # spawning the child (under load) is all it takes
    assert 'if __name__ == "__main__":' in proc.stdout
    assert "while a process-execution child was still importing the main script" in proc.stdout
    # the child said why on its stderr too, once: it did not go on to start anything
    # (the parent's failure line, printed to stderr without logging configured, quotes it too)
    assert proc.stderr.count("skylaunch: a scheduler was started while") == 1, proc.stderr
    assert elapsed < TIMEOUT_S
