"""W5 cold start, Rocketry: import + define N daily tasks + the first scheduling pass."""

from __future__ import annotations

import time

T0 = time.perf_counter()
from rocketry import Rocketry
from rocketry.conds import daily, every

T_IMPORT = time.perf_counter()
from _probe import cpu_s, emit, not_due_hhmm, params

T_PROBE = time.perf_counter()
p = params(n=100)
app = Rocketry(config={"task_execution": "main"})


def noop() -> None:
    pass


at = not_due_hhmm()
for i in range(int(p["n"])):
    app.task(daily.at(at), name=f"t{i}")(noop)


@app.task(every("1 day"), name="marker")
def marker() -> None:
    """Defined last: reached at the end of the first pass, which it ends."""
    app.session.shut_down()


T_DEFINED = time.perf_counter()
app.run()
end = time.perf_counter()
emit(
    total_s=(T_IMPORT - T0) + (end - T_PROBE),  # the harness's own import (_probe) excluded
    import_s=T_IMPORT - T0,
    define_s=T_DEFINED - T_PROBE,
    first_pass_s=end - T_DEFINED,
    probe_s=T_PROBE - T_IMPORT,
    cpu_s=cpu_s(),
)
