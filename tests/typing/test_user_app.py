"""mypy --strict over a user's app: decorators keep the types of what they decorate."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.mark.slow
def test_user_app_type_checks_under_strict_mypy() -> None:
    pytest.importorskip("mypy")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(HERE / "user_app.py")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_user_app_runs() -> None:
    """The fixture is a real app, not only something that type-checks."""
    app = runpy.run_path(str(HERE / "user_app.py"))["app"]
    names = sorted(task.name for task in app.session.tasks)  # type: ignore[attr-defined]
    assert names == ["backup", "fetch", "report", "store"]
