"""A SIGKILLed scheduler takes its ``process``-execution children with it.

The scheduler runs ``orphan_app.py`` in a subprocess; its ``work`` task (``daily``, in a child
process) logs ``start``/``end`` lines to ``body.log``. Killing the scheduler mid-body must end
the child at once, so the body never completes, and a restarted scheduler's run of the same
daily task never overlaps a survivor's.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ._proc import child_env

APP = Path(__file__).with_name("orphan_app.py")
TIMEOUT_S = 15.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and fcntl are POSIX")


def start(db: Path, workdir: Path, seconds: float, *how: str) -> subprocess.Popen[bytes]:
    env = child_env()
    # stderr goes to a file: a pipe would be held open by a surviving child, and reading it
    # to the end would wait for the child as well as the scheduler
    with open(workdir / "stderr.txt", "ab") as stderr:
        return subprocess.Popen(
            [sys.executable, str(APP), str(db), str(workdir), str(seconds), *how],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )


def stderr_of(workdir: Path) -> str:
    return (workdir / "stderr.txt").read_text(errors="replace")


def body_lines(workdir: Path) -> list[tuple[str, int]]:
    try:
        text = (workdir / "body.log").read_text()
    except FileNotFoundError:
        return []
    return [(word, int(pid)) for word, pid in (line.split() for line in text.splitlines())]


def wait_for_start(proc: subprocess.Popen[bytes], workdir: Path, seen: int) -> int:
    """The pid of the next body to start (the ``seen``-th ``start`` line is awaited)."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        starts = [pid for word, pid in body_lines(workdir) if word == "start"]
        if len(starts) > seen:
            return starts[seen]
        if proc.poll() is not None:
            raise AssertionError(f"the scheduler ended: {stderr_of(workdir)}")
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    raise AssertionError(f"no body started within {TIMEOUT_S} s: {stderr_of(workdir)}")


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(0.01)
    return not is_alive(pid)


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=TIMEOUT_S) == -signal.SIGKILL


@pytest.mark.parametrize(
    ("thread", "body"),
    [
        ("main", "sleep"),  # both guards: Linux's parent-death signal and the pipe watchdog
        ("other", "sleep"),  # the watchdog alone: no parent-death signal from another thread
        pytest.param(
            "main",
            "gil",  # the parent-death signal alone: the watchdog cannot get the GIL
            marks=pytest.mark.skipif(
                not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's"
            ),
        ),
    ],
)
def test_child_dies_with_its_sigkilled_scheduler(tmp_path: Path, thread: str, body: str) -> None:
    body_s = 3.0
    scheduler = start(tmp_path / "app.db", tmp_path, body_s, thread, body)
    child = wait_for_start(scheduler, tmp_path, 0)
    assert child != scheduler.pid
    kill(scheduler)
    gone = gone_within(child, 1.0)
    if not gone:
        os.kill(child, signal.SIGKILL)  # leave nothing behind whatever the test says
    assert gone, "the child outlived its scheduler by more than 1 s"
    assert ("end", child) not in body_lines(tmp_path)  # gone: it cannot write it any more


@pytest.mark.timeout(180)  # six scheduler starts: each imports skylaunch and spawns a child
def test_sigkill_restart_loop_never_completes_daily_twice(tmp_path: Path) -> None:
    """Kill the scheduler mid-body several times, then let a last one finish the day's run."""
    cycles, body_s = 5, 1.5
    rng = random.Random(12)
    db = tmp_path / "app.db"
    children = []
    for cycle in range(cycles):
        scheduler = start(db, tmp_path, body_s)
        children.append(wait_for_start(scheduler, tmp_path, cycle))
        time.sleep(rng.uniform(0.0, 0.5))
        kill(scheduler)
    last = start(db, tmp_path, 0.1)
    children.append(wait_for_start(last, tmp_path, cycles))
    assert last.wait(timeout=TIMEOUT_S) == 0, stderr_of(tmp_path)
    survivors = [pid for pid in children if not gone_within(pid, 1.0)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    lines = body_lines(tmp_path)
    assert survivors == []
    assert [w for w, _ in lines if w == "concurrent"] == [], lines
    assert [pid for w, pid in lines if w == "end"] == [children[-1]], lines
