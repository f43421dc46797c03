"""examples/persistent_app.py, run twice on one SQLite file, shows the history carried over."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ._proc import child_env

EXAMPLE = Path(__file__).parents[2] / "examples" / "persistent_app.py"


def run(db: Path) -> dict[str, int]:
    env = child_env()
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), str(db)],
        capture_output=True,
        text=True,
        timeout=20,
        env=env,
        check=True,
    )
    return {
        m[0]: int(m[1])
        for m in re.findall(r"^  (\w+) +(\d+) successful", done.stdout, re.MULTILINE)
    }


def test_example_keeps_its_history_across_runs(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    first = run(db)
    second = run(db)
    assert first["daily_report"] == second["daily_report"] == 1
    assert second["tick"] > first["tick"] >= 1
