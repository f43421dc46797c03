"""Two processes, the same day, a repo attached the handbook's way: the second reads the first's
history and does not run the `daily` task again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ._proc import child_env

APP = Path(__file__).with_name("handbook_repo_app.py")


def stored_after(kind: str, path: Path, start: str) -> int:
    env = child_env()
    done = subprocess.run(
        [sys.executable, str(APP), kind, str(path), start],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


@pytest.mark.parametrize("kind", ["csv", "sql"])
def test_a_second_process_reads_the_handler_repo(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"tasks.{kind}"
    first = stored_after(kind, path, "2024-01-01 10:00")
    second = stored_after(kind, path, "2024-01-01 11:00")
    assert (first, second) == (2, 2)  # run + success, once
    assert stored_after(kind, path, "2024-01-02 10:00") == 4  # the next day it runs again
