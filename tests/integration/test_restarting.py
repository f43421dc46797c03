"""config.restarting: 'replace' execs a new process with the same command line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

APP = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from skylaunch import App
    from skylaunch.exc import SchedulerRestart

    marker = Path(sys.argv[1])
    print("boot", flush=True)
    app = App(config={"execution": "main", "restarting": sys.argv[2]})

    @app.task("true")
    def once():
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            print("restarting from", os.getpid(), flush=True)
            raise SchedulerRestart()
        print("second life in", os.getpid(), flush=True)
        app.session.shut_down()

    app.run()
    print("done", flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["replace", "recall"])
def test_restart_modes(tmp_path: Path, how: str) -> None:
    script = tmp_path / "app.py"
    script.write_text(APP)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "marker"), how],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    boots = lines.count("boot")
    lines = [line for line in lines if line != "boot"]
    # replace runs a fresh interpreter (the module runs again), recall reuses this one
    assert boots == (2 if how == "replace" else 1)
    first = int(lines[0].split()[-1])
    second = int(lines[1].split()[-1])
    assert lines[0].startswith("restarting from")
    assert lines[1].startswith("second life in")
    assert lines[-1] == "done"
    assert lines.count("done") == 1
    # exec keeps the process id; nothing is left behind either way
    assert first == second
