"""A data pipeline: extract -> transform -> load, chained by after_success and Return.

Each step receives the previous step's return value (``Return("extract")``); a session
parameter and an ``@app.param`` function are passed by name; a setup hook opens a "connection
pool" at start-up and closes it at shutdown. Run: python examples/pipeline.py
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from skylaunch import App
from skylaunch.args import Return, TaskLogger
from skylaunch.conds import after_success, every

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

SECONDS = int(os.environ.get("SKYLAUNCH_DEMO_SECONDS", "6"))  # the smoke test shortens it
app = App(config={"execution": "thread", "shut_cond": f"scheduler has run over {SECONDS} seconds"})
app.params(source="sensor-7", threshold=50)
warehouse: list[dict[str, object]] = []
pool: dict[str, bool] = {}


@app.setup()
def connection_pool() -> Iterator[None]:
    pool["open"] = True  # build it once, before the first run
    yield
    pool["open"] = False  # and close it after the last one


@app.param("conn")
def get_connection() -> str:
    """Called at each launch of a task that takes ``conn``."""
    return f"connection (pool open: {pool['open']})"


@app.task(every("2 seconds"))
def extract(source: str) -> list[int]:
    return [(len(warehouse) * 37 + i * 23) % 100 for i in range(5)]


@app.task(after_success("extract"))
def transform(threshold: int, rows: list[int] = Return("extract")) -> list[int]:  # type: ignore[assignment]  # noqa: B008
    return [r for r in rows if r >= threshold]


@app.task(after_success("transform"))
def load(
    conn: str,
    rows: list[int] = Return("transform"),  # type: ignore[assignment]  # noqa: B008
    logger: logging.LoggerAdapter = TaskLogger(),  # type: ignore[type-arg,assignment]  # noqa: B008
) -> int:
    warehouse.append({"rows": rows, "via": conn})
    logger.info("loaded %d rows", len(rows))
    return len(rows)


if __name__ == "__main__":
    app.run()
    print(f"\n{len(warehouse)} batches loaded; pool open after shutdown: {pool['open']}")
    for batch in warehouse:
        print(f"  {batch}")
