"""No password given in a URL reaches a message: reprs, errors, warnings, the CLI's stderr.

Every URL form that carries a secret is tried on every path that prints a repo's or an
output's URL; the text each path produced is searched for the secret.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from skylaunch.cli import main
from skylaunch.log import RepoHandler, TaskRunRecord
from skylaunch.log.repos.sql import SQLRepo, SQLTimeouts, normalize_url
from skylaunch.testing import run_until, simulated_app

from .relay import Relay

SECRET = "Hunter2Secret"

# How a PostgreSQL URL can carry a secret (the trusting test server ignores it).
PG_FORMS = {
    "userinfo": lambda host, db: f"postgresql://postgres:{SECRET}@{host}/{db}",
    "query password": lambda host, db: f"postgresql://postgres@{host}/{db}?password={SECRET}",
    "query sslpassword": lambda host, db: (
        f"postgresql://postgres@{host}/{db}?sslpassword={SECRET}&application_name=x"
    ),
    "encoded key": lambda host, db: f"postgresql://postgres@{host}/{db}?pass%77ord={SECRET}",
}
REDIS_FORMS = {
    "userinfo": f"redis://:{SECRET}@127.0.0.1:1/0",
    "query password": f"redis://127.0.0.1:1/0?password={SECRET}",
    "user and query": f"redis://me:{SECRET}@127.0.0.1:1/0?password={SECRET}x",
}


class Texts:
    """What each message path printed, by name."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def add(self, name: str, text: str) -> None:
        assert text, f"{name} printed nothing: the path was not exercised"
        self.found[name] = text

    def call(self, name: str, call: Callable[[], object]) -> None:
        try:
            result = call()
        except BaseException as exc:
            self.add(name, f"{type(exc).__name__}: {exc} | {exc!r}")
        else:
            self.add(name, f"{result} | {result!r}")

    def leaks(self) -> list[str]:
        return [name for name, text in self.found.items() if SECRET in text]


@pytest.fixture
def texts() -> Texts:
    return Texts()


@pytest.fixture
def table(pg_url: str) -> Iterator[str]:
    name = f"secrets_{uuid.uuid4().hex[:10]}"
    yield name
    engine = sa.create_engine(normalize_url(pg_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
    engine.dispose()


def _host_db(pg_url: str) -> tuple[str, str]:
    url = sa.make_url(pg_url)
    return f"{url.host}:{url.port or 5432}", str(url.database)


@pytest.mark.pg
@pytest.mark.parametrize("form", list(PG_FORMS))
def test_sql_repo_messages_hide_the_password(
    pg_url: str, table: str, form: str, texts: Texts, caplog: pytest.LogCaptureFixture
) -> None:
    host, db = _host_db(pg_url)
    make = PG_FORMS[form]
    repo = SQLRepo(TaskRunRecord, conn_string=make(host, db), table=table, if_missing="create")
    handler = RepoHandler(repo)
    try:
        texts.call("repr(repo)", lambda: repr(repo))
        texts.call("repr(handler)", lambda: repr(handler))
        bad = logging.LogRecord("skylaunch.task", logging.INFO, __file__, 1, "m", (), None)
        bad.action = "run"
        bad.task_name = ["not", "a", "name"]
        texts.call("TaskLoggingError (record refused)", lambda: handler.emit(bad))
    finally:
        handler.close()
        repo.engine.dispose()
    dead = make("127.0.0.1:1", db)
    texts.call(
        "RepoUnavailableError (refused)",
        lambda: SQLRepo(TaskRunRecord, conn_string=dead, table="t", if_missing="create"),
    )
    texts.call(
        "RepoConfigError (no such database)",
        lambda: SQLRepo(
            TaskRunRecord, conn_string=make(host, "no_such_db_xyz"), table="t", if_missing="create"
        ),
    )
    texts.call(
        "ValueError (bad URL)",
        lambda: SQLRepo(TaskRunRecord, conn_string=make("h:port", db), table="t"),
    )
    texts.add("log records", "\n".join(r.getMessage() for r in caplog.records) or "-")
    assert texts.leaks() == [], texts.found


@pytest.mark.pg
@pytest.mark.parametrize("silence", [True, False])
def test_scheduler_warnings_and_errors_hide_the_password(
    pg_url: str, table: str, silence: bool, texts: Texts, caplog: pytest.LogCaptureFixture
) -> None:
    host, db = _host_db(pg_url)
    with Relay(int(host.split(":")[1]), host.split(":")[0]) as relay:
        url = PG_FORMS["query password"](f"127.0.0.1:{relay.port}", db)
        repo = SQLRepo(
            TaskRunRecord,
            conn_string=url,
            table=table,
            if_missing="create",
            timeouts=SQLTimeouts(connect_s=2),
        )
        # the runs need not wait for their records (durable start): this is about messages
        app = simulated_app("2024-01-01 09:00", silence_task_logging=silence, run_record_wait=0)
        app.session.set_repo(repo)
        app.session.log_flush_timeout_s = 0.5

        @app.task("every 1 minute")
        def tick() -> None:
            relay.cut()
            time.sleep(0.3)  # the repo is written in the background: let it meet the cut

        caplog.set_level(logging.DEBUG)
        try:
            texts.call("app.run", lambda: run_until(app, "2024-01-01 09:03"))
        finally:
            handler = app.session.journal.handler
            if handler is not None:
                handler.close(0.5)  # the database stays cut: the default 10 s wait is idle
            repo.engine.dispose()
    if not silence:
        assert "TaskLoggingError" in texts.found["app.run"]
    messages = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert any("unavailable" in m for m in messages), messages
    texts.add("scheduler log", "\n".join(messages))
    assert texts.leaks() == [], texts.found


@pytest.mark.pg
@pytest.mark.parametrize("form", list(PG_FORMS))
def test_cli_stderr_hides_the_password(
    form: str, pg_url: str, texts: Texts, capsys: pytest.CaptureFixture[str]
) -> None:
    host, db = _host_db(pg_url)
    make = PG_FORMS[form]
    for name, url in [
        ("unreachable", make("127.0.0.1:1", db)),
        ("no such database", make(host, "no_such_db_xyz")),
        ("no such table", make(host, db) + ("&" if "?" in make(host, db) else "?")),
    ]:
        code = main(["logs", "--repo", url, "--table", "no_such_table_xyz"])
        captured = capsys.readouterr()
        assert code == 2
        if name == "no such database":
            assert ": the database does not exist: " in captured.err
        texts.add(f"CLI {name}", captured.err)
    assert texts.leaks() == [], texts.found


@pytest.mark.parametrize("form", list(REDIS_FORMS))
def test_redis_messages_hide_the_password(
    form: str, texts: Texts, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("redis")
    from skylaunch.log.outputs.redis import RedisStreamHandler

    url = REDIS_FORMS[form]
    assert main(["logs", "--follow", "--redis", url]) == 2
    texts.add("CLI --redis", capsys.readouterr().err)
    texts.call("bad URL", lambda: RedisStreamHandler(url.replace("127.0.0.1:1", "h:port")))
    caplog.set_level(logging.DEBUG)
    handler: Any = RedisStreamHandler(url, flush_timeout_s=0.2, socket_timeout_s=0.5)
    texts.call("repr(handler)", lambda: repr(handler))
    handler.emit(logging.LogRecord("skylaunch.task", logging.INFO, __file__, 1, "m", (), None))
    handler.close()
    messages = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert any("write failed" in m or "unwritten" in m for m in messages), messages
    texts.add("warnings", "\n".join(messages))
    assert texts.leaks() == [], texts.found


def test_the_check_finds_a_leak(texts: Texts) -> None:
    texts.add("sqlalchemy's own repr", repr(sa.make_url(f"postgresql://u@h/db?password={SECRET}")))
    assert texts.leaks() == ["sqlalchemy's own repr"]
