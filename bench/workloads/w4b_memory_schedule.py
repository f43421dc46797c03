"""W4b memory, schedule 1.2: RSS growth over N runs (``run_all()`` loop, as in W3)."""

from __future__ import annotations

import schedule
from _probe import emit, params, rss_kib

p = params(n=10_000)
runs = 0


def trivial() -> None:
    global runs
    runs += 1


schedule.every(1).seconds.do(trivial)
while runs < 1_000:
    schedule.run_all()
baseline = rss_kib()
while runs < int(p["n"]) + 1_000:
    schedule.run_all()
grown = rss_kib() - baseline
emit(growth_mib=grown / 1024, per_run_kib=grown / int(p["n"]), rss_mib=rss_kib() / 1024)
