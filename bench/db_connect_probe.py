"""Probes behind the figures of issue 12 items 5 (connecting) and 13 (secrets).

Runs against the real PostgreSQL (``SKYLAUNCH_TEST_PG_URL``, default the trusting local
server) and Redis-less paths only where Redis is absent. Each probe uses only API that
existed before the fix, so the same command measures the old code with
``PYTHONPATH=<old checkout>/src``::

    .venv/bin/python bench/db_connect_probe.py blackhole    # start-up against a black hole
    .venv/bin/python bench/db_connect_probe.py race sqlite 8 5   # 5 rounds of 8 creators
    .venv/bin/python bench/db_connect_probe.py race postgres 8 5
    .venv/bin/python bench/db_connect_probe.py wrong        # wrong database / role
    .venv/bin/python bench/db_connect_probe.py leaks        # message paths that print a password
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))

from relay import Relay

from skylaunch.log import RepoHandler, TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo

PG = os.environ.get("SKYLAUNCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "S3cr3tPw"


def _drop(url: str, table: str) -> None:
    import sqlalchemy as sa

    from skylaunch.log.repos.sql import normalize_url

    engine = sa.create_engine(normalize_url(url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}"')
    engine.dispose()


def blackhole() -> None:
    with Relay(5432) as relay:
        relay.black_hole()
        started = time.monotonic()
        try:
            SQLRepo(
                TaskRunRecord,
                conn_string=f"postgresql://postgres@127.0.0.1:{relay.port}/test",
                table="probe_blackhole",
                if_missing="create",
            )
            print("no error")
        except Exception as exc:
            print(f"{type(exc).__name__}: {exc}")
        print(f"start-up ended after {time.monotonic() - started:.1f} s")


CREATOR = """
import sys, time
from skylaunch.log import TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo
url, table, at = sys.argv[1], sys.argv[2], float(sys.argv[3])
time.sleep(max(0.0, at - time.time()))
SQLRepo(TaskRunRecord, conn_string=url, table=table, if_missing="create").engine.dispose()
"""


def race(backend: str, processes: int, rounds: int) -> None:
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for number in range(rounds):
            table = f"probe_race_{uuid.uuid4().hex[:8]}"
            url = PG if backend == "postgres" else f"sqlite:///{folder}/{table}.db"
            at = time.time() + 4.0
            running = [
                subprocess.Popen(
                    [sys.executable, "-c", CREATOR, url, table, repr(at)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(processes)
            ]
            errors = []
            for process in running:
                _, err = process.communicate(timeout=120)
                if process.returncode:
                    lines = [line for line in err.splitlines() if "Error" in line] or ["?"]
                    errors.append(lines[-1].strip()[:160])
            print(f"round {number}: {len(errors)} of {processes} failed", *errors, sep="\n  ")
            failed += len(errors)
            if backend == "postgres":
                _drop(url, table)
    print(f"TOTAL: {failed} of {processes * rounds} failed")


def wrong() -> None:
    base = PG.rsplit("/", 1)[0]
    for name, url in [
        ("database", base + "/no_such_db_probe"),
        ("role", "postgresql://no_such_role_probe@" + base.split("@", 1)[-1] + "/test"),
    ]:
        started = time.monotonic()
        try:
            SQLRepo(TaskRunRecord, conn_string=url, table="t", if_missing="create")
        except Exception as exc:
            took = time.monotonic() - started
            print(f"wrong {name}: {type(exc).__name__} after {took:.2f} s: {str(exc)[:120]}")


def leaks() -> None:
    texts: dict[str, str] = {}

    def grab(name: str, call: Any) -> None:
        try:
            texts[name] = str(call())
        except Exception as exc:
            texts[name] = f"{type(exc).__name__}: {exc}"

    host = PG.split("@", 1)[-1].split("/", 1)[0]
    forms = {
        "?password=": f"postgresql://postgres@{host}/test?password={SECRET}",
        "user:pw@": f"postgresql://postgres:{SECRET}@{host}/test",
        "?sslpassword=": f"postgresql://postgres@{host}/test?sslpassword={SECRET}",
    }
    table = f"probe_leaks_{uuid.uuid4().hex[:8]}"
    for form, url in forms.items():
        repo = SQLRepo(TaskRunRecord, conn_string=url, table=table, if_missing="create")
        handler = RepoHandler(repo)
        grab(f"repr(SQLRepo) {form}", lambda: repr(repo))
        grab(f"repr(RepoHandler) {form}", lambda: repr(handler))
        bad = logging.LogRecord("skylaunch.task", 20, __file__, 1, "m", (), None)
        bad.action, bad.task_name = "run", 1  # refused by the model: TaskLoggingError
        grab(f"TaskLoggingError {form}", lambda: handler.emit(bad))
        handler.close()
        repo.engine.dispose()
        dead = url.replace(host, "127.0.0.1:1")
        grab(
            f"RepoUnavailableError {form}",
            lambda: SQLRepo(TaskRunRecord, conn_string=dead, table="t", if_missing="create"),
        )
        done = subprocess.run(
            [sys.executable, "-m", "skylaunch", "logs", "--repo", dead],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        texts[f"CLI stderr --repo {form}"] = done.stderr
    _drop(PG, table)
    for form, url in {
        "?password=": f"redis://127.0.0.1:1/0?password={SECRET}",
        ":pw@": f"redis://:{SECRET}@127.0.0.1:1/0",
    }.items():
        done = subprocess.run(
            [sys.executable, "-m", "skylaunch", "logs", "--follow", "--redis", url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        texts[f"CLI stderr --redis {form}"] = done.stderr
        try:
            from skylaunch.log.outputs.redis import RedisStreamHandler
        except ImportError:
            continue
        stream = io.StringIO()
        capture = logging.StreamHandler(stream)
        logging.getLogger("skylaunch").addHandler(capture)
        output = RedisStreamHandler(url, flush_timeout_s=0.5)
        output.emit(logging.LogRecord("skylaunch.task", 20, __file__, 1, "m", (), None))
        time.sleep(1.0)
        output.close()
        logging.getLogger("skylaunch").removeHandler(capture)
        texts[f"Redis output warnings {form}"] = stream.getvalue()
        grab(f"Redis bad URL {form}", lambda: RedisStreamHandler(url.replace(":1/", ":port/")))
    leaked = [name for name, text in texts.items() if SECRET in text]
    for name, text in texts.items():
        shown = " | ".join(text.strip().splitlines())[:150]
        print(f"{'LEAK' if name in leaked else 'ok  '} {name}: {shown}")
    print(f"LEAKED: {len(leaked)} of {len(texts)} message paths")


if __name__ == "__main__":
    command, *rest = sys.argv[1:] or ["help"]
    if command == "blackhole":
        blackhole()
    elif command == "race":
        race(rest[0], int(rest[1]) if len(rest) > 1 else 8, int(rest[2]) if len(rest) > 2 else 1)
    elif command == "wrong":
        wrong()
    elif command == "leaks":
        leaks()
    else:
        print(__doc__)
