"""Peer virtual environments, built on demand so the comparison needs nothing but pip.

Each peer lives in ``bench/.venv-<name>`` (ignored by git). A ``requirements.txt`` written inside
the venv records what it was built from, so changing a pin below rebuilds it on the next run.
skylaunch itself is not installed here: it runs from the interpreter that runs the harness.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["PEER_REQUIREMENTS", "ensure_peer", "python_for"]

BENCH = Path(__file__).resolve().parent

# Rocketry 2.5.1 predates pydantic 2 and leaves both pydantic and Red Bird unpinned; SQLAlchemy 1.4
# is what Red Bird 0.7.1's SQLRepo was written for (it backs the W4 SQLite and W6 figures), and
# SQLAlchemy 1.4 reaches PostgreSQL through psycopg2 (psycopg 3 needs SQLAlchemy 2). APScheduler's
# SQLAlchemyJobStore (W6) takes SQLAlchemy 2 with psycopg 3, as skylaunch does.
PEER_REQUIREMENTS: dict[str, list[str]] = {
    "rocketry": [
        "rocketry==2.5.1",
        "pydantic<2",
        "redbird==0.7.1",
        "sqlalchemy>=1.4,<2",
        "psycopg2-binary>=2.9,<3",
    ],
    "apscheduler": ["apscheduler>=3.11,<3.12", "sqlalchemy>=2,<3", "psycopg[binary]>=3.1,<4"],
    "schedule": ["schedule>=1.2,<1.3"],
}


def _venv_dir(name: str) -> Path:
    return BENCH / f".venv-{name}"


def python_for(name: str) -> Path:
    """The interpreter a scheduler's child scripts run under."""
    if name == "skylaunch":
        return Path(sys.executable)
    return _venv_dir(name) / "bin" / "python"


def ensure_peer(name: str) -> Path:
    """Create or refresh the peer's venv when its pins changed; return its interpreter."""
    wanted = "\n".join(PEER_REQUIREMENTS[name]) + "\n"
    venv = _venv_dir(name)
    stamp = venv / "requirements.txt"
    python = python_for(name)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"[bench] building {venv.name}: {', '.join(PEER_REQUIREMENTS[name])}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *PEER_REQUIREMENTS[name]],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    stamp.write_text(wanted)
    return python
