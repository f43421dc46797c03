"""The app tests/integration/test_sigterm.py runs in a subprocess and stops with SIGTERM.

``python stoppable_app.py LOG.csv MODE``: ``work`` is a daily task in a thread that announces
itself on stdout and then, by MODE:

- ``finish``: works for 1.5 s, then returns (it ends within its timeout of 30 s);
- ``overrun``: works until terminated, with a timeout of 1.5 s;
- ``stubborn``: works until terminated, with a timeout of 60 s;
- ``check``: returns at once; the scheduler stops by itself after a moment (the restart).

No logging is configured: what the scheduler says goes to stderr by Python's last resort.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from skylaunch import App
from skylaunch.args import TerminationFlag
from skylaunch.conds import daily
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos import CSVFileRepo

TIMEOUTS = {"finish": 30.0, "overrun": 1.5, "stubborn": 60.0, "check": 30.0}


def main(log: str, mode: str) -> None:
    app = App(execution="thread")
    app.session.set_repo(CSVFileRepo(log, model=TaskRunRecord))

    @app.task(daily, timeout=TIMEOUTS[mode])
    def work(flag: object = TerminationFlag()) -> None:
        if mode == "check":
            return
        print("work started", flush=True)
        end = time.monotonic() + (1.5 if mode == "finish" else 120)
        while time.monotonic() < end and not flag.wait(0.05):  # type: ignore[attr-defined]
            pass

    @app.session.hook_shutdown()
    def goodbye() -> None:
        print("shutdown hook ran", flush=True)

    if mode == "check":
        app.session.start(until=app.session.clock.now() + timedelta(seconds=1))
    else:
        app.run()
    print("run() returned", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
