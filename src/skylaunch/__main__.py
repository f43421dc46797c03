"""``python -m skylaunch``: the ``skylaunch`` command where the console script is not on PATH."""

from __future__ import annotations

from skylaunch.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
