"""How fast skylaunch.testing runs a schedule over simulated time.

A daily window task and an hourly task over the whole of 2024 in Europe/Helsinki (both DST
changes included). Prints runs, scheduler passes and wall time. Run:
    .venv/bin/python bench/simulated_year.py
"""

from __future__ import annotations

import time

from skylaunch.testing import run_until, runs, simulated_app


def main() -> None:
    app = simulated_app("2024-01-01 00:00", tz="Europe/Helsinki")

    @app.task("daily between 10:00 and 12:00")
    def report() -> None: ...

    @app.task("every 1 hour")
    def hourly_job() -> None: ...

    started = time.perf_counter()
    run_until(app, "2025-01-01 00:00")
    elapsed = time.perf_counter() - started
    print(
        f"simulated 2024: {len(runs(app, 'report'))} daily runs, "
        f"{len(runs(app, 'hourly_job'))} hourly runs, "
        f"{app.session.scheduler.cycles} scheduler passes in {elapsed:.2f} s of wall time"
    )


if __name__ == "__main__":
    main()
