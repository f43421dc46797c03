"""``skylaunch logs``: records from SQLite, CSV and PostgreSQL repos, and the live Redis feed."""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from skylaunch import cli
from skylaunch.cli import Entry, main, output, parse_since
from skylaunch.log.records import MinimalRecord, TaskRunRecord
from skylaunch.log.repos import CSVFileRepo, SQLRepo
from skylaunch.testing import run_until, simulated_app
from skylaunch.time.clock import SimulatedClock

UTC = timezone.utc
# What the simulated app below logs, oldest first: two days of a good and a failing task.
EXPECTED = [
    ("2024-01-01T10:00:00+00:00", "report", "run"),
    ("2024-01-01T10:00:00+00:00", "report", "success"),
    ("2024-01-01T11:00:00+00:00", "broken", "run"),
    ("2024-01-01T11:00:00+00:00", "broken", "fail"),
    ("2024-01-02T10:00:00+00:00", "report", "run"),
    ("2024-01-02T10:00:00+00:00", "report", "success"),
    ("2024-01-02T11:00:00+00:00", "broken", "run"),
    ("2024-01-02T11:00:00+00:00", "broken", "fail"),
]


def fill(repo: Any) -> None:
    """Two simulated days of a real App writing to ``repo``."""
    app = simulated_app("2024-01-01 00:00", tz="UTC")
    app.session.set_repo(repo)

    @app.task("daily at 10:00")
    def report() -> None: ...

    @app.task("daily at 11:00")
    def broken() -> None:
        raise RuntimeError("upstream down\nsecond line of the message")

    run_until(app, "2024-01-03 00:00")
    app.session.set_repo(app.session.default_repo())  # let go of the repo's handler


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "app.db"
    repo = SQLRepo(
        TaskRunRecord, table="task_log", conn_string=f"sqlite:///{path}", if_missing="create"
    )
    fill(repo)
    repo.engine.dispose()
    return path


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("csv") / "tasks.csv"
    fill(CSVFileRepo(path, model=TaskRunRecord))
    return path


@pytest.fixture
def pg_repo_url(pg_url: str) -> Iterator[str]:
    """``--repo URL --table NAME`` arguments of a filled PostgreSQL table, dropped after."""
    table = f"cli_{uuid.uuid4().hex[:10]}"
    repo = SQLRepo(TaskRunRecord, table=table, conn_string=pg_url, if_missing="create")
    fill(repo)
    yield f"{pg_url} --table {table}"
    with repo.engine.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE "{table}"')
    repo.engine.dispose()


@pytest.fixture
def redis_repo_args(redis_url: str, redis_prefix: str) -> list[str]:
    """``--repo URL --table PREFIX`` of a filled Redis repo (its keys deleted after)."""
    from skylaunch.log.repos.redis import RedisRepo

    with RedisRepo(redis_url, TaskRunRecord, key_prefix=redis_prefix) as repo:
        fill(repo)
    return ["--repo", redis_url, "--table", redis_prefix]


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def go(*argv: str, clock: Any = None) -> tuple[int, str, str]:
        code = main(["logs", *argv], clock=clock)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return go


@pytest.fixture(params=["sqlite-url", "sqlite-file", "csv", "postgres", "redis"])
def repo_args(request: pytest.FixtureRequest) -> list[str]:
    """The same history in every kind of repo the command reads."""
    if request.param == "sqlite-url":
        return ["--repo", f"sqlite:///{request.getfixturevalue('sqlite_file')}"]
    if request.param == "sqlite-file":
        return ["--repo", str(request.getfixturevalue("sqlite_file"))]
    if request.param == "csv":
        return ["--repo", str(request.getfixturevalue("csv_file"))]
    if request.param == "redis":
        return list(request.getfixturevalue("redis_repo_args"))
    url, _, table = request.getfixturevalue("pg_repo_url").partition(" --table ")
    return ["--repo", url, "--table", table]


def table_rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


def json_rows(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


# -- reading repos --------------------------------------------------------------------------------


def test_table_lists_every_record_oldest_first(run: Run, repo_args: list[str]) -> None:
    code, out, err = run(*repo_args, "--tz", "UTC")
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split() == ["TIME", "TASK", "ACTION", "RUN_ID", "RUNTIME", "ERROR"]
    assert [tuple(row.split()[:3]) for row in rows] == EXPECTED
    fail = rows[3].split(maxsplit=5)
    assert fail[4] == "0.000s"
    assert fail[5] == "RuntimeError: upstream down"  # the error line, not "Traceback (..."
    assert rows[0].split()[4] == "-"  # a run has no runtime yet
    run_ids = [row.split()[3] for row in rows]
    assert run_ids[0] == run_ids[1] != run_ids[4]
    assert len(run_ids[0]) == 32


def test_filters_by_task_action_since_and_limit(run: Run, repo_args: list[str]) -> None:
    code, out, _ = run(*repo_args, "--tz", "UTC", "--task", "report", "--action", "success")
    assert code == 0
    assert [tuple(r[:3]) for r in table_rows(out)[1:]] == [EXPECTED[1], EXPECTED[5]]

    _, out, _ = run(*repo_args, "--tz", "UTC", "--action", "fail", "--action", "success")
    assert [r[2] for r in table_rows(out)[1:]] == ["success", "fail", "success", "fail"]

    _, out, _ = run(*repo_args, "--task", "report", "--task", "broken", "--limit", "3")
    assert [r[1:3] for r in table_rows(out)[1:]] == [
        ["report", "success"],
        ["broken", "run"],
        ["broken", "fail"],
    ]

    _, out, _ = run(*repo_args, "--tz", "Europe/Helsinki", "--since", "2024-01-02 11:30")
    assert [r[0] for r in table_rows(out)[1:]] == ["2024-01-02T12:00:00+02:00"] * 2 + [
        "2024-01-02T13:00:00+02:00"
    ] * 2


def test_json_and_csv_carry_the_whole_record(run: Run, repo_args: list[str]) -> None:
    code, out, _ = run(*repo_args, "--format", "json", "--action", "fail", "--tz", "UTC")
    assert code == 0
    docs = json_rows(out)
    assert [d["time"] for d in docs] == ["2024-01-01T11:00:00+00:00", "2024-01-02T11:00:00+00:00"]
    assert docs[0]["task"] == "broken"
    assert docs[0]["action"] == "fail"
    assert docs[0]["runtime_s"] == 0.0
    assert docs[0]["exc_text"].startswith("Traceback (most recent call last):")
    assert "second line of the message" in docs[0]["exc_text"]
    assert docs[0]["message"] == "Task 'broken' status: 'fail'"

    _, out, _ = run(*repo_args, "--format", "csv", "--task", "report", "--tz", "UTC")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "time",
        "task",
        "action",
        "run_id",
        "runtime_s",
        "exc_text",
        "message",
    ]
    assert [(r["time"], r["action"], r["runtime_s"]) for r in rows] == [
        ("2024-01-01T10:00:00+00:00", "run", ""),
        ("2024-01-01T10:00:00+00:00", "success", "0.0"),
        ("2024-01-02T10:00:00+00:00", "run", ""),
        ("2024-01-02T10:00:00+00:00", "success", "0.0"),
    ]


def test_since_a_duration_counts_back_from_the_clock(run: Run, sqlite_file: Path) -> None:
    clock = SimulatedClock("2024-01-02 12:00", tz=UTC)
    code, out, _ = run("--repo", str(sqlite_file), "--since", "90 minutes", clock=clock)
    assert code == 0
    assert [r[1:3] for r in table_rows(out)[1:]] == [["broken", "run"], ["broken", "fail"]]


def test_no_match_prints_nothing_and_says_so(run: Run, csv_file: Path) -> None:
    assert run("--repo", str(csv_file), "--task", "nobody") == (
        0,
        "",
        "skylaunch logs: no records match\n",
    )


def test_the_local_zone_is_the_default(run: Run, sqlite_file: Path) -> None:
    _, out, _ = run("--repo", str(sqlite_file), "--format", "json", "--limit", "1")
    shown = datetime.fromisoformat(json_rows(out)[0]["time"])
    assert shown == datetime(2024, 1, 2, 11, tzinfo=UTC)
    assert shown.utcoffset() == datetime(2024, 1, 2, 11, tzinfo=UTC).astimezone().utcoffset()


def test_a_minimal_table_prints_dashes_for_what_it_lacks(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'min.db'}"
    repo = SQLRepo(MinimalRecord, table="log", conn_string=url, if_missing="create")
    repo.add({"task_name": "x", "action": "success", "created": 1704103200.0})
    repo.engine.dispose()
    code, out, _ = run("--repo", url, "--table", "log", "--tz", "UTC")
    assert code == 0
    assert table_rows(out)[1] == ["2024-01-01T10:00:00+00:00", "x", "success", "-", "-"]


# -- mistakes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--repo", "{dir}/missing.csv"], "no such file"),
        (["--repo", "sqlite:///{dir}/missing.db"], "no such SQLite file"),
        (["--repo", "sqlite://"], "in-memory database"),
        (["--repo", "{sqlite}", "--table", "nope"], "no table 'nope' (choose one with --table)"),
        (["--repo", "{sqlite}", "--action", "runn"], "--action: got 'runn'; expected one of run"),
        (["--repo", "{sqlite}", "--since", "yesterday-ish"], "--since: got 'yesterday-ish'"),
        (["--repo", "{sqlite}", "--since", "10:00"], "bare clock time is ambiguous"),
        (["--repo", "{sqlite}", "--since", "-2 hours"], "--since: got '-2 hours'"),
        (["--repo", "{sqlite}", "--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--repo", "{sqlite}", "--limit", "0"], "--limit: got '0'"),
        (["--repo", "{sqlite}", "--format", "xml"], "invalid choice: 'xml'"),
        (["--repo", "{sqlite}", "--count", "2"], "go with --follow"),
        (["--repo", "{csv}", "--table", "t"], "--table applies to SQL repos"),
        (["--repo", "postgresql://me:hunter2@127.0.0.1:1/db"], "me:***@127.0.0.1:1/db"),
        (["--repo", "nosuchdialect://x/y"], "cannot open"),
        (["--follow", "--repo", "{sqlite}"], "pick one"),
        (["--follow", "--limit", "3"], "--since and --limit read a repo"),
        ([], "logs needs --repo"),
        (["--nonsense"], "unrecognized arguments: --nonsense"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(
    run: Run, tmp_path: Path, sqlite_file: Path, csv_file: Path, argv: list[str], message: str
) -> None:
    filled = [a.format(dir=tmp_path, sqlite=sqlite_file, csv=csv_file) for a in argv]
    code, out, err = run(*filled)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("skylaunch: error: ")
    assert message in err
    assert "hunter2" not in err
    assert not (tmp_path / "missing.db").exists()  # reading never creates a database


def test_tables_and_files_that_are_no_task_log(run: Run, tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE task_log (id INTEGER PRIMARY KEY, created REAL)")
    conn.close()
    code, _, err = run("--repo", str(db))
    assert code == 2
    assert "not a task log (it lacks the columns task_name, action)" in err

    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    code, _, err = run("--repo", str(other))
    assert code == 2
    assert "its header lacks task_name, action, created" in err

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = run("--repo", str(empty))
    assert (code, "the file is empty" in err) == (2, True)

    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"task_name,act\xffion,created\n")
    code, _, err = run("--repo", str(broken))
    assert code == 2
    assert "broken.csv' is not valid utf-8" in err

    garbled = tmp_path / "garbled.csv"
    garbled.write_text("task_name,action,created\nx,run,not-a-time\n")
    code, _, err = run("--repo", str(garbled))
    assert code == 2
    assert "created='not-a-time'" in err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "logs" in capsys.readouterr().err


# -- pieces ---------------------------------------------------------------------------------------


def test_parse_since() -> None:
    now = datetime(2024, 6, 1, 12, tzinfo=UTC)
    helsinki = ZoneInfo("Europe/Helsinki")
    assert (
        parse_since("2 hours", now=now, tz=None) == datetime(2024, 6, 1, 10, tzinfo=UTC).timestamp()
    )
    assert (
        parse_since("1h30m", now=now, tz=UTC)
        == datetime(2024, 6, 1, 10, 30, tzinfo=UTC).timestamp()
    )
    assert (
        parse_since("2024-06-01 10:00", now=now, tz=helsinki)
        == datetime(2024, 6, 1, 7, tzinfo=UTC).timestamp()
    )
    assert (
        parse_since("2024-06-01T10:00+00:00", now=now, tz=helsinki)
        == datetime(2024, 6, 1, 10, tzinfo=UTC).timestamp()
    )
    assert (
        parse_since("2024-06-01", now=now, tz=UTC) == datetime(2024, 6, 1, tzinfo=UTC).timestamp()
    )
    with pytest.raises(cli.CLIError, match="ambiguous"):
        parse_since("10:00", now=now, tz=UTC)


@pytest.mark.parametrize(
    ("exc_text", "message", "action", "shown"),
    [
        (None, "Task 'x' status: 'success'", "success", ""),
        ("plain text\nmore", None, "fail", "plain text"),
        (
            (
                "Traceback (most recent call last):\n  File 'a.py', line 1\n    x()\n"
                "ValueError: first\n\nDuring handling of the above exception, another exception "
                "occurred:\n\nTraceback (most recent call last):\n  File 'b.py', line 2\n    y()\n"
                "KeyError: 'second'\nwith a second line\n"
            ),
            None,
            "fail",
            "KeyError: 'second'",
        ),
        (None, "a user line", None, "a user line"),
    ],
)
def test_entry_detail(
    exc_text: str | None, message: str | None, action: str | None, shown: str
) -> None:
    entry = Entry(0.0, "x", action, None, None, exc_text, message)
    assert entry.detail == shown


@pytest.mark.parametrize("fmt", ["table", "follow-table"])
def test_control_characters_are_escaped_in_tables(run: Run, tmp_path: Path, fmt: str) -> None:
    hostile = "evil\x1b]0;pwned\x07\x1b[2J\nFAKE  row\u202e"
    if fmt == "follow-table":  # the live feed's printer, one row at a time
        out = io.StringIO()
        printer = output.Printer(out, "table", UTC)
        printer.one(Entry(1704103200.0, hostile, "fail", "r\n1", None, "boom\x1b[31m", None))
        text = out.getvalue()
    else:
        url = f"sqlite:///{tmp_path / 'hostile.db'}"
        repo = SQLRepo(TaskRunRecord, table="log", conn_string=url, if_missing="create")
        repo.add(
            {
                "task_name": hostile,
                "action": "fail",
                "created": 1704103200.0,
                "run_id": "r\n1",
                "exc_text": "RuntimeError: boom\x1b[31m\nsecond line",
                "message": "Task status: 'fail'",
            }
        )
        repo.engine.dispose()
        code, text, _ = run("--repo", url, "--table", "log", "--tz", "UTC")
        assert code == 0
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\u202e" not in text
    lines = text.splitlines()
    assert len(lines) == 2  # the header and one row: no forged rows
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J\\nFAKE  row\\u202e" in lines[1]
    assert "r\\n1" in lines[1]
    assert "boom\\x1b[31m" in lines[1]


def test_printable_keeps_ordinary_text() -> None:
    assert output.printable("café report-1 ✓") == "café report-1 ✓"
    assert output.printable("a\tb\x00") == "a\\tb\\x00"


# -- following Redis -----------------------------------------------------------------------------


@pytest.fixture
def feed(redis_url: str) -> Iterator[Any]:
    """A RedisStreamHandler on the task logger with a prefix of this test alone."""
    import redis

    from skylaunch.log.outputs.redis import RedisStreamHandler

    prefix = f"sltest:{uuid.uuid4().hex[:12]}"
    handler = RedisStreamHandler(redis_url, channel_prefix=prefix)
    logger = logging.getLogger("skylaunch.task")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    handler.close()
    admin = redis.Redis.from_url(redis_url)
    keys = list(admin.scan_iter(match=f"{prefix}:*"))
    if keys:
        admin.delete(*keys)
    admin.close()


def follow_args(feed: Any, redis_url: str, *more: str) -> list[str]:
    return ["--follow", "--redis", redis_url, "--prefix", feed.channel_prefix, *more]


def run_app(start: str, end: str) -> None:
    app = simulated_app(start, tz="UTC")

    @app.task("daily at 10:00")
    def report() -> None: ...

    @app.task("daily at 11:00")
    def broken() -> None:
        raise RuntimeError("upstream down")

    run_until(app, end)


@pytest.mark.redis
def test_follow_from_start_prints_the_stream(run: Run, feed: Any, redis_url: str) -> None:
    run_app("2024-01-01 00:00", "2024-01-03 00:00")
    assert feed.drain(10)
    code, out, err = run(
        *follow_args(feed, redis_url, "--from-start", "--count", "8", "--tz", "UTC")
    )
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["TIME", "TASK", "ACTION"]
    assert [tuple(row.split()[:3]) for row in rows] == EXPECTED
    assert rows[3].split(maxsplit=5)[5] == "RuntimeError: upstream down"


@pytest.mark.redis
def test_follow_one_tasks_stream_with_action_filter_as_json(
    run: Run, feed: Any, redis_url: str
) -> None:
    run_app("2024-01-01 00:00", "2024-01-03 00:00")
    assert feed.drain(10)
    argv = follow_args(feed, redis_url, "--from-start", "--task", "broken", "--action", "fail")
    code, out, _ = run(*argv, "--count", "2", "--format", "json", "--tz", "UTC")
    assert code == 0
    docs = json_rows(out)
    assert [(d["time"], d["task"], d["action"]) for d in docs] == [EXPECTED[3], EXPECTED[7]]
    assert docs[0]["exc_text"].rstrip().endswith("RuntimeError: upstream down")


@pytest.mark.redis
def test_follow_without_from_start_prints_only_new_records(
    run: Run, feed: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_app("2024-01-01 00:00", "2024-01-02 00:00")  # old: must not be printed
    assert feed.drain(10)
    real = output._start_ids

    def then_new_records(client: Any, keys: Any, from_start: bool) -> dict[str, str]:
        ids = real(client, keys, from_start)
        run_app("2024-01-05 00:00", "2024-01-06 00:00")  # logged once the follower is placed
        assert feed.drain(10)
        return ids

    monkeypatch.setattr(output, "_start_ids", then_new_records)
    code, out, _ = run(*follow_args(feed, redis_url, "--count", "4", "--format", "csv"))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["time"][:10] for r in rows] == ["2024-01-05"] * 4


@pytest.mark.redis
def test_follow_skips_payloads_it_cannot_read(run: Run, feed: Any, redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.xadd(f"{feed.channel_prefix}:global", {"record": "not json"})
    client.close()
    run_app("2024-01-01 00:00", "2024-01-01 10:30")
    assert feed.drain(10)
    code, out, err = run(*follow_args(feed, redis_url, "--from-start", "--count", "2"))
    assert code == 0
    assert len(out.splitlines()) == 3
    assert err.startswith("skylaunch logs: skipped record ")


def test_follow_without_redis_names_the_extra(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    code, _, err = run("--follow")
    assert code == 2
    assert "pip install 'skylaunch[redis]'" in err


def test_follow_unreachable_redis(run: Run) -> None:
    code, _, err = run("--follow", "--redis", "redis://127.0.0.1:1/0", "--count", "1")
    assert code == 2
    assert "--redis redis://127.0.0.1:1/0: cannot reach Redis" in err


# -- the console script ---------------------------------------------------------------------------


@pytest.mark.slow
def test_python_dash_m_runs_the_command(csv_file: Path) -> None:
    helped = subprocess.run(
        [sys.executable, "-m", "skylaunch", "logs", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert helped.returncode == 0
    assert "--follow" in helped.stdout
    printed = subprocess.run(
        [sys.executable, "-m", "skylaunch", "logs", "--repo", str(csv_file), "--limit", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (printed.returncode, printed.stderr) == (0, "")
    assert "broken" in printed.stdout.splitlines()[1]
    failed = subprocess.run(
        [sys.executable, "-m", "skylaunch", "logs", "--repo", str(csv_file), "--action", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 2
    assert failed.stderr.count("\n") == 1
    assert "Traceback" not in failed.stderr
