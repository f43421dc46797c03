"""Cost of the log repo operations the scheduler makes: add, and "last record of a task".

Run: .venv/bin/python bench/repo_ops.py   (about 20 s; prints one line per figure)
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skylaunch.log import MemoryRepo, MinimalRecord, RepoHandler, TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo

N_BIG = 100_000
TASKS = 100


def per_call_us(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def rows(n: int) -> list[dict[str, Any]]:
    actions = ("run", "success", "run", "fail")
    return [
        {"task_name": f"task{i % TASKS}", "action": actions[i % 4], "created": 1e9 + i,
         "message": "m", "run_id": str(i)}
        for i in range(n)
    ]  # fmt: skip


def main() -> None:
    data = rows(N_BIG)
    one = data[0]
    print(
        f"pydantic TaskRunRecord.model_validate: {per_call_us(lambda: TaskRunRecord.model_validate(one), 20000):.2f} us"
    )
    print(
        f"pydantic TaskRunRecord.model_construct: {per_call_us(lambda: TaskRunRecord.model_construct(**one), 20000):.2f} us"
    )

    memory = MemoryRepo(TaskRunRecord)
    it = iter(data)
    print(
        f"MemoryRepo.add (dict -> validated model): {per_call_us(lambda: memory.add(next(it)), N_BIG):.2f} us/record"
    )
    last = per_call_us(lambda: memory.filter_by(task_name="task42").last(), 10000)
    last_a = per_call_us(
        lambda: memory.filter_by(task_name="task42", action="success").last(), 10000
    )
    print(f"MemoryRepo filter_by(task_name).last() on {N_BIG} records: {last:.2f} us")
    print(f"MemoryRepo filter_by(task_name, action).last() on {N_BIG} records: {last_a:.2f} us")
    bounded = MemoryRepo(TaskRunRecord, max_per_task=100)
    it = iter(data)
    print(
        f"MemoryRepo(max_per_task=100).add: {per_call_us(lambda: bounded.add(next(it)), N_BIG):.2f} us/record"
    )

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        single = SQLRepo(TaskRunRecord, conn_string=url, table="single", if_missing="create")
        it = iter(data)
        print(
            f"SQLRepo(sqlite file).add, one transaction each: {per_call_us(lambda: single.add(next(it)), 2000):.0f} us/record"
        )
        big = SQLRepo(TaskRunRecord, conn_string=url, table="big", if_missing="create")
        start = time.perf_counter()
        for i in range(0, N_BIG, 1000):
            big.insert(data[i : i + 1000])
        print(
            f"SQLRepo(sqlite file).insert, batches of 1000: {(time.perf_counter() - start) / N_BIG * 1e6:.1f} us/record"
        )
        last = per_call_us(lambda: big.filter_by(task_name="task42").last(), 2000)
        last_a = per_call_us(
            lambda: big.filter_by(task_name="task42", action="success").last(), 2000
        )
        count = per_call_us(lambda: big.filter_by(task_name="task42").count(), 2000)
        print(f"SQLRepo(sqlite) filter_by(task_name).last() on {N_BIG} records: {last:.0f} us")
        print(
            f"SQLRepo(sqlite) filter_by(task_name, action).last() on {N_BIG} records: {last_a:.0f} us"
        )
        print(f"SQLRepo(sqlite) filter_by(task_name).count() on {N_BIG} records: {count:.0f} us")

        handler = RepoHandler(MemoryRepo(TaskRunRecord))
        record = logging.LogRecord(
            "skylaunch.task", logging.INFO, __file__, 1, "Task %r", ("x",), None
        )
        record.__dict__.update(task_name="x", action="run", run_id="1")
        print(
            f"RepoHandler.emit -> MemoryRepo: {per_call_us(lambda: handler.emit(record), 20000):.2f} us/record"
        )
        sql_handler = RepoHandler(single)
        print(
            f"RepoHandler.emit -> SQLRepo(sqlite file): {per_call_us(lambda: sql_handler.emit(record), 1000):.0f} us/record"
        )
        sql_handler.close()
        single.engine.dispose()
        big.engine.dispose()

    min_repo = MemoryRepo(MinimalRecord)
    it = iter(data)
    print(
        f"MemoryRepo(MinimalRecord).add: {per_call_us(lambda: min_repo.add(next(it)), N_BIG):.2f} us/record"
    )


if __name__ == "__main__":
    main()
