"""Refuse a scheduler started by a process-execution child while it imports the main script.

Kept apart from :mod:`skylaunch.execution.process` so that every ``app.run()`` can make this
check without importing ``multiprocessing``.
"""

from __future__ import annotations

import os
import sys

__all__ = ["NO_MAIN_GUARD", "NO_MAIN_GUARD_EXIT", "refuse_start_while_bootstrapping"]

#: The exit code of a child that stopped a scheduler started while it was bootstrapping. The
#: child cannot reach the queue then (its arguments are not unpickled yet): the code is the
#: message. A task body that itself ends its process with 87 would be explained the same way.
NO_MAIN_GUARD_EXIT = 87

NO_MAIN_GUARD = """\
a scheduler was started while a process-execution child was still importing the main script.
A task with execution="process" runs in a new Python process ("spawn" start method) that
imports the script which started the scheduler; a script that starts the scheduler at module
level starts it again in every child, and the task never runs. Start the scheduler only when
the script is run, not when it is imported:

    if __name__ == "__main__":
        app.run()

See "Safe importing of main module" in the documentation of Python's multiprocessing."""


def refuse_start_while_bootstrapping() -> None:
    """Stop a scheduler started by a child process while it imports the main script.

    ``multiprocessing`` marks the current process as ``_inheriting`` while a new child imports
    the parent's main module and unpickles its target: a scheduler started then comes from a
    script without an ``if __name__ == "__main__":`` guard. The child explains that on stderr and
    ends at once with an exit code its parent recognises (``ProcessExecutor._watch``).
    Outside such a child this does nothing.
    """
    process = sys.modules.get("multiprocessing.process")
    if process is None or not getattr(process.current_process(), "_inheriting", False):
        return
    if sys.stderr is not None:  # None under pythonw
        sys.stderr.write(f"skylaunch: {NO_MAIN_GUARD}\n")
        sys.stderr.flush()
    os._exit(NO_MAIN_GUARD_EXIT)
