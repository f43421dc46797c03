"""W5 cold start, skylaunch: import + define N daily tasks + the first scheduling pass.

Also reports whether SQLAlchemy was imported: it must load only when a SQL repo is used.
"""

from __future__ import annotations

import sys
import time

T0 = time.perf_counter()
from skylaunch import App
from skylaunch.conds import daily, every

T_IMPORT = time.perf_counter()
from _probe import cpu_s, emit, not_due_hhmm, params

T_PROBE = time.perf_counter()
p = params(n=100)
app = App(config={"execution": "main"})


def noop() -> None:
    pass


at = not_due_hhmm()
for i in range(int(p["n"])):
    app.task(daily.at(at), name=f"t{i}")(noop)


@app.task(every("1 day"), name="marker")
def marker() -> None:
    """Due at start-up like no other task: it ends the run once the first pass launches it."""
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
    sqlalchemy_loaded="sqlalchemy" in sys.modules,
)
