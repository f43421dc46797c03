from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from skylaunch.log.context import RunInfo, run_context, task_log
from skylaunch.log.outputs.file import FileLogger

from .conftest import T0, MakeRecord

Attach = Callable[[logging.Handler], logging.Logger]
STAMP = "2024-03-01T12:00:00.000+00:00"


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_user_lines_carry_the_run(tmp_path: Path, task_logger: Attach) -> None:
    path = tmp_path / "tasks.log"
    task_logger(FileLogger(path, tz=timezone.utc))
    with run_context(RunInfo("fetch", "abc123")):
        task_log("got 3 rows")
        logging.getLogger("skylaunch.task.fetch").warning("slow answer")
    task_log("outside any run")
    text = lines(path)
    assert [[*line.split(" ", 3)[:2], line.split(" ", 3)[3]] for line in text] == [
        ["[abc123]", "[fetch]", "got 3 rows"],
        ["[abc123]", "[fetch]", "slow answer"],
        ["[-]", "[-]", "outside any run"],
    ]


def test_a_users_own_logger_gets_the_run_when_the_handler_is_attached_to_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tasks.log"
    handler = FileLogger(path)
    logger = logging.getLogger("tests.file.user_module")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with run_context(RunInfo("etl", "r42")):
            logger.info("step one")
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert lines(path)[0].startswith("[r42] [etl] ")
    assert lines(path)[0].endswith(" step one")


def test_timestamp_is_iso_with_the_records_created_time(
    tmp_path: Path, task_logger: Attach, make_record: MakeRecord
) -> None:
    path = tmp_path / "tasks.log"
    helsinki = timezone(timedelta(hours=2))
    logger = task_logger(FileLogger(path, log_lifecycle=True, tz=helsinki))
    logger.handle(make_record("t", "run", "r1", at=T0 + timedelta(milliseconds=250)))
    assert lines(path) == ["[r1] [t] 2024-03-01T14:00:00.250+02:00 -- RUNNING"]


def test_lifecycle_lines_for_each_status(
    tmp_path: Path, task_logger: Attach, make_record: MakeRecord
) -> None:
    path = tmp_path / "tasks.log"
    logger = task_logger(FileLogger(path, log_lifecycle=True, tz=timezone.utc))
    for action in ["run", "success", "run", "terminate", "run", "inaction", "crash"]:
        logger.handle(make_record("t", action, "r1"))
    words = [line.removeprefix(f"[r1] [t] {STAMP} ") for line in lines(path)]
    assert words == [
        "-- RUNNING",
        "-- SUCCESS",
        "-- RUNNING",
        "-- TERMINATED",
        "-- RUNNING",
        "-- INACTION",
        "-- CRASHED",
    ]


def test_failed_line_is_followed_by_the_prefixed_traceback(
    tmp_path: Path, task_logger: Attach, make_record: MakeRecord
) -> None:
    path = tmp_path / "tasks.log"
    logger = task_logger(FileLogger(path, log_lifecycle=True, tz=timezone.utc))
    logger.handle(make_record("t", "fail", "r1"))
    text = lines(path)
    assert text[0] == f"[r1] [t] {STAMP} -- FAILED"
    assert text[1] == f"[r1] [t] {STAMP} Traceback (most recent call last):"
    assert text[-1] == f"[r1] [t] {STAMP} ValueError: t broke"
    assert all(line.startswith("[r1] [t] ") for line in text)


def test_without_lifecycle_status_records_write_nothing(
    tmp_path: Path, task_logger: Attach, make_record: MakeRecord
) -> None:
    path = tmp_path / "tasks.log"
    logger = task_logger(FileLogger(path))
    logger.handle(make_record("t", "run"))
    logger.handle(make_record("t", "success"))
    assert path.read_text() == ""


def test_retry_separator_counts_consecutive_fails_per_task(
    tmp_path: Path, task_logger: Attach, make_record: MakeRecord
) -> None:
    path = tmp_path / "tasks.log"
    logger = task_logger(FileLogger(path, tz=timezone.utc))
    sequence = [
        ("a", "run", "1"),
        ("a", "fail", "1"),
        ("a", "run", "2"),  # Retry 1
        ("b", "run", "9"),  # other task: no retry
        ("b", "success", "9"),
        ("a", "fail", "2"),
        ("a", "run", "3"),  # Retry 2
        ("a", "success", "3"),
        ("a", "run", "4"),  # after a success: no retry
    ]
    for task, action, run_id in sequence:
        logger.handle(make_record(task, action, run_id))
    assert lines(path) == [
        f"[2] [a] {STAMP} --- Retry 1 ---",
        f"[3] [a] {STAMP} --- Retry 2 ---",
    ]


def test_retry_separator_comes_before_the_running_line(
    tmp_path: Path, task_logger: Attach, make_record: MakeRecord
) -> None:
    path = tmp_path / "tasks.log"
    logger = task_logger(FileLogger(path, log_lifecycle=True, tz=timezone.utc))
    logger.handle(make_record("a", "fail", "1", exc_info=None))
    logger.handle(make_record("a", "run", "2"))
    assert lines(path)[-2:] == [
        f"[2] [a] {STAMP} --- Retry 1 ---",
        f"[2] [a] {STAMP} -- RUNNING",
    ]


def test_min_level_filters_lines(
    tmp_path: Path, task_logger: Attach, make_record: MakeRecord
) -> None:
    path = tmp_path / "tasks.log"
    logger = task_logger(FileLogger(path, log_lifecycle=True, min_level="WARNING"))
    with run_context(RunInfo("t", "r1")):
        task_log("debug detail", "debug")
        task_log("progress")
        task_log("disk almost full", "warning")
    logger.handle(make_record("t", "success", "r1"))
    logger.handle(make_record("t", "fail", "r2", exc_info=None))
    assert [line.split(" ", 3)[3] for line in lines(path)] == ["disk almost full", "-- FAILED"]


def test_multiline_user_messages_keep_the_prefix_on_every_line(
    tmp_path: Path, task_logger: Attach
) -> None:
    path = tmp_path / "tasks.log"
    task_logger(FileLogger(path))
    with run_context(RunInfo("t", "r1")):
        task_log("first\nsecond")
        try:
            raise KeyError("missing")
        except KeyError:
            logging.getLogger("skylaunch.task.user").exception("lookup failed")
    text = lines(path)
    assert all(line.startswith("[r1] [t] ") for line in text)
    assert [line.split(" ", 3)[3] for line in text[:3]] == ["first", "second", "lookup failed"]
    assert text[-1].endswith("KeyError: 'missing'")


def test_rotate_mode_rotates_by_size_and_keeps_backup_count(
    tmp_path: Path, task_logger: Attach
) -> None:
    path = tmp_path / "tasks.log"
    task_logger(FileLogger(path, mode="rotate", max_bytes=200, backup_count=2))
    with run_context(RunInfo("t", "r1")):
        for i in range(20):
            task_log(f"line {i:02d} " + "x" * 40)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["tasks.log", "tasks.log.1", "tasks.log.2"]
    for name in names:
        assert (tmp_path / name).stat().st_size <= 200
    # The newest lines are in the live file, older ones in .1, and the oldest were discarded.
    assert lines(path)[-1].split(" ", 4)[4].startswith("19 ")
    older = lines(tmp_path / "tasks.log.1")
    assert int(older[-1].split(" ", 4)[4][:2]) < int(lines(path)[0].split(" ", 4)[4][:2])
    assert sum(len(lines(tmp_path / n)) for n in names) < 20


def test_max_bytes_zero_never_rotates(tmp_path: Path, task_logger: Attach) -> None:
    path = tmp_path / "tasks.log"
    task_logger(FileLogger(path, max_bytes=0))
    for i in range(50):
        task_log(f"line {i}")
    assert [p.name for p in tmp_path.iterdir()] == ["tasks.log"]
    assert len(lines(path)) == 50


def test_watched_mode_reopens_after_an_external_move(tmp_path: Path, task_logger: Attach) -> None:
    path = tmp_path / "tasks.log"
    task_logger(FileLogger(path, mode="watched", max_bytes=10))
    task_log("before rotation")
    os.rename(path, tmp_path / "tasks.log.1")  # what logrotate does (without copytruncate)
    task_log("after rotation")
    assert [line.split(" ", 3)[3] for line in lines(tmp_path / "tasks.log.1")] == [
        "before rotation"
    ]
    assert [line.split(" ", 3)[3] for line in lines(path)] == ["after rotation"]


def test_watched_mode_recreates_a_removed_file(tmp_path: Path, task_logger: Attach) -> None:
    path = tmp_path / "tasks.log"
    task_logger(FileLogger(path, mode="watched"))
    task_log("one")
    path.unlink()
    task_log("two")
    assert [line.split(" ", 3)[3] for line in lines(path)] == ["two"]


def test_watched_mode_never_rotates(tmp_path: Path, task_logger: Attach) -> None:
    path = tmp_path / "tasks.log"
    task_logger(FileLogger(path, mode="watched", max_bytes=10, backup_count=1))
    for i in range(10):
        task_log(f"line {i}")
    assert [p.name for p in tmp_path.iterdir()] == ["tasks.log"]
    assert len(lines(path)) == 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "daily"}, "mode: got 'daily'"),
        ({"min_level": "verbose"}, "min_level: got 'verbose'"),
        ({"max_bytes": -1}, "max_bytes: got -1"),
        ({"backup_count": -2}, "backup_count: got -2"),
        ({"max_bytes": 1.5}, "max_bytes: got 1.5"),
    ],
)
def test_bad_arguments_are_named(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FileLogger(tmp_path / "x.log", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "x.log").exists()


def test_a_bad_path_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        FileLogger(tmp_path / "missing-dir" / "x.log")


def test_formatters_are_refused(tmp_path: Path) -> None:
    handler = FileLogger(tmp_path / "x.log")
    try:
        with pytest.raises(TypeError, match="fixed line format"):
            handler.setFormatter(logging.Formatter("%(message)s"))
    finally:
        handler.close()
