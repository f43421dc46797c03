"""W5 cold start, schedule 1.2: import + define N daily jobs + one ``run_pending()`` pass."""

from __future__ import annotations

import time

T0 = time.perf_counter()
import schedule

T_IMPORT = time.perf_counter()
from _probe import cpu_s, emit, not_due_hhmm, params

T_PROBE = time.perf_counter()
p = params(n=100)


def noop() -> None:
    pass


at = not_due_hhmm()
for _ in range(int(p["n"])):
    schedule.every().day.at(at).do(noop)
T_DEFINED = time.perf_counter()
schedule.run_pending()
end = time.perf_counter()
emit(
    total_s=(T_IMPORT - T0) + (end - T_PROBE),  # the harness's own import (_probe) excluded
    import_s=T_IMPORT - T0,
    define_s=T_DEFINED - T_PROBE,
    first_pass_s=end - T_DEFINED,
    probe_s=T_PROBE - T_IMPORT,
    cpu_s=cpu_s(),
)
