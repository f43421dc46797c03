"""The permissions of the files skylaunch creates: task logs, CSV histories, SQLite databases.

Those files hold tracebacks, and tracebacks hold whatever a task's locals and messages held, so
a file skylaunch creates gets ``0o600`` (owner only) unless its creator asks otherwise. The mode
applies when the file is created; an existing file keeps its mode, which its owner chose.
"""

from __future__ import annotations

import os
from collections.abc import Callable

__all__ = ["DEFAULT_PERMISSIONS", "check_permissions", "opener"]

DEFAULT_PERMISSIONS = 0o600
"""Read and write for the owner only."""


def check_permissions(value: object) -> int | None:
    """``value`` if it is a file mode (an int from 0 to 0o7777) or ``None``; else ValueError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0o7777:
        raise ValueError(
            f"permissions: got {value!r}; expected a file mode such as 0o600 (an int from 0 "
            "to 0o7777) or None for the system default"
        )
    return value


def opener(permissions: int | None) -> Callable[[str, int], int] | None:
    """An ``opener`` for :func:`open` that creates a missing file with ``permissions``.

    The umask still applies, as it does to every file a process creates. ``None``: the
    default opener (``0o666`` less the umask).
    """
    if permissions is None:
        return None

    def open_with_mode(path: str, flags: int) -> int:
        return os.open(path, flags, permissions)

    return open_with_mode
