"""The ``log_file=`` shorthand: a FileLogger that the session owns, attaches and closes."""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from skylaunch.exc import ConfigError
from skylaunch.log.outputs.file import FileLogger
from skylaunch.session import Session
from skylaunch.testing import run_until, simulated_app

LINE = re.compile(r"^\[(?P<run>[^\]]+)\] \[(?P<task>[^\]]+)\] (?P<ts>\S+) (?P<text>.*)$")


def parsed(path: Path) -> list[dict[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = LINE.match(line)
        assert match is not None, f"not a FileLogger line: {line!r}"
        rows.append(match.groupdict())
    return rows


def file_outputs() -> list[FileLogger]:
    return [h for h in logging.getLogger("skylaunch.task").handlers if isinstance(h, FileLogger)]


@pytest.fixture(scope="module", autouse=True)
def _collect_only_this_modules_objects() -> Iterator[None]:
    """One full collection before the module, then every object older than it is frozen.

    The per-test ``gc.collect()`` below then walks only what this module created, instead of
    the whole suite's heap (about 0.6 s a test late in a full run with coverage).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@pytest.fixture(autouse=True)
def _no_leftover_outputs() -> object:
    yield
    gc.collect()
    for handler in file_outputs():
        logging.getLogger("skylaunch.task").removeHandler(handler)
        handler.close()


def test_a_simulated_app_writes_lifecycle_lines_to_log_file(tmp_path: Path) -> None:
    path = tmp_path / "tasks.log"
    app = simulated_app("2024-01-01 00:00", log_file=path, log_lifecycle=True)

    @app.task("daily at 10:00")
    def report() -> None: ...

    @app.task("daily at 11:00")
    def broken() -> None:
        raise RuntimeError("upstream down")

    run_until(app, "2024-01-02 12:00")
    rows = parsed(path)
    report_rows = [(r["ts"], r["text"]) for r in rows if r["task"] == "report"]
    assert report_rows == [
        ("2024-01-01T10:00:00.000+00:00", "-- RUNNING"),
        ("2024-01-01T10:00:00.000+00:00", "-- SUCCESS"),
        ("2024-01-02T10:00:00.000+00:00", "-- RUNNING"),
        ("2024-01-02T10:00:00.000+00:00", "-- SUCCESS"),
    ]
    broken_texts = [r["text"] for r in rows if r["task"] == "broken"]
    assert broken_texts[:2] == ["-- RUNNING", "-- FAILED"]
    assert "RuntimeError: upstream down" in broken_texts
    assert "--- Retry 1 ---" in broken_texts  # the second day follows a failure
    run_ids = {r["run"] for r in rows if r["task"] == "report"}
    assert len(run_ids) == 2
    assert "-" not in run_ids


def test_timestamps_follow_the_configured_zone(tmp_path: Path) -> None:
    path = tmp_path / "tasks.log"
    app = simulated_app("2024-07-01 00:00", tz="Europe/Helsinki", log_file=path, log_lifecycle=True)

    @app.task("daily at 10:00")
    def report() -> None: ...

    run_until(app, "2024-07-01 12:00")
    assert parsed(path)[0]["ts"] == "2024-07-01T10:00:00.000+03:00"


def test_without_log_lifecycle_only_user_lines_are_written(tmp_path: Path) -> None:
    path = tmp_path / "tasks.log"
    app = simulated_app("2024-01-01 00:00", log_file=path)

    @app.task("daily at 10:00")
    def report() -> None:
        logging.getLogger("skylaunch.task.user").info("42 rows")

    run_until(app, "2024-01-01 12:00")
    assert [r["text"] for r in parsed(path)] == ["42 rows"]


def test_file_keys_reach_the_file_logger(tmp_path: Path) -> None:
    session = Session(
        log_file=str(tmp_path / "w.log"),
        log_file_mode="watched",
        log_file_max_bytes=0,
        log_file_backup_count=2,
        log_lifecycle=True,
        timezone="UTC",
    )
    (output,) = file_outputs()
    assert output.path == str(tmp_path / "w.log")
    assert output.mode == "watched"
    assert output.log_lifecycle is True
    assert output.tz == session.config.timezone
    session.config.log_file = None
    session.journal.attach_outputs()
    assert file_outputs() == []


def test_no_log_file_attaches_nothing() -> None:
    Session()
    assert file_outputs() == []


def test_the_file_is_closed_at_shutdown_and_reopened_by_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "tasks.log"
    app = simulated_app("2024-01-01 00:00", log_file=path, log_lifecycle=True)

    @app.task("daily at 10:00")
    def report() -> None: ...

    run_until(app, "2024-01-01 12:00")
    (output,) = file_outputs()
    assert output._file.stream is None  # released at shutdown
    path.rename(tmp_path / "moved.log")
    run_until(app, "2024-01-02 12:00")
    assert [r["ts"][:10] for r in parsed(path)] == ["2024-01-02", "2024-01-02"]


def test_a_new_attachment_replaces_the_sessions_own_and_orphans(tmp_path: Path) -> None:
    first = Session(log_file=tmp_path / "a.log")
    (old,) = file_outputs()
    first.config.log_file = tmp_path / "b.log"
    first.journal.attach_outputs()
    (new,) = file_outputs()
    assert new is not old
    assert new.path == str(tmp_path / "b.log")
    assert old._file.stream is None

    del first, old, new
    gc.collect()
    Session(log_file=tmp_path / "c.log")
    assert [h.path for h in file_outputs()] == [str(tmp_path / "c.log")]


def test_two_live_sessions_write_their_own_records_only(tmp_path: Path) -> None:
    one = simulated_app("2024-01-01 00:00", log_file=tmp_path / "one.log", log_lifecycle=True)
    two = simulated_app("2024-01-01 00:00", log_file=tmp_path / "two.log", log_lifecycle=True)

    @one.task("daily at 10:00")
    def alpha() -> None: ...

    @two.task("daily at 10:00")
    def beta() -> None: ...

    run_until(one, "2024-01-01 12:00")
    run_until(two, "2024-01-01 12:00")
    assert {r["task"] for r in parsed(tmp_path / "one.log")} == {"alpha"}
    assert {r["task"] for r in parsed(tmp_path / "two.log")} == {"beta"}


def test_set_repo_keeps_the_file_output(tmp_path: Path) -> None:
    session = Session(log_file=tmp_path / "a.log")
    session.set_repo(session.default_repo())
    assert len(file_outputs()) == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("log_file_mode", "daily"),
        ("log_file_max_bytes", -1),
        ("log_file_backup_count", -2),
    ],
)
def test_bad_file_keys_name_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=key):
        Session(**{key: value})


def test_a_log_file_in_a_missing_directory_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        Session(log_file=tmp_path / "nowhere" / "tasks.log")
