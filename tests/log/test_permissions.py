"""Files skylaunch creates (CSV histories, SQLite databases, task logs) are owner-only by
default; the mode is an option, the umask still applies, and existing files keep their mode."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from skylaunch.exc import ConfigError
from skylaunch.log import CSVFileRepo, MinimalRecord
from skylaunch.log.outputs.file import FileLogger
from skylaunch.log.permissions import check_permissions
from skylaunch.log.repos.sql import SQLRepo
from skylaunch.session import Session

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which files were created world-readable (0o644)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


RECORD = {"task_name": "x", "action": "run", "created": 1.0}


@pytest.mark.usefixtures("umask_022")
def test_a_new_csv_file_is_owner_only(tmp_path: Path) -> None:
    CSVFileRepo(tmp_path / "a.csv", model=MinimalRecord).add(RECORD)
    assert mode_of(tmp_path / "a.csv") == 0o600
    CSVFileRepo(tmp_path / "b.csv", model=MinimalRecord, permissions=0o640).add(RECORD)
    assert mode_of(tmp_path / "b.csv") == 0o640
    CSVFileRepo(tmp_path / "c.csv", model=MinimalRecord, permissions=None).add(RECORD)
    assert mode_of(tmp_path / "c.csv") == 0o644  # the old behaviour: 0o666 less the umask


@pytest.mark.usefixtures("umask_022")
def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("task_name,action,created\n")
    path.chmod(0o664)
    CSVFileRepo(path, model=MinimalRecord).add(RECORD)
    assert mode_of(path) == 0o664


def test_the_umask_still_applies(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        CSVFileRepo(tmp_path / "a.csv", model=MinimalRecord, permissions=0o644).add(RECORD)
    finally:
        os.umask(old)
    assert mode_of(tmp_path / "a.csv") == 0o600


@pytest.mark.usefixtures("umask_022")
def test_a_new_sqlite_database_and_its_wal_files_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with SQLRepo(
        MinimalRecord, conn_string=f"sqlite:///{path}", table="log", if_missing="create"
    ) as repo:
        repo.add(RECORD)
        created = [path, tmp_path / "log.db-wal", tmp_path / "log.db-shm"]
        assert {p.name: mode_of(p) for p in created} == {p.name: 0o600 for p in created}
    with SQLRepo(MinimalRecord, conn_string=f"sqlite:///{path}", table="log") as again:
        assert again.filter_by().count() == 1  # the pre-created empty file is a database


@pytest.mark.usefixtures("umask_022")
def test_sqlite_permissions_option_and_existing_files(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    SQLRepo(
        MinimalRecord, conn_string=url, table="t", if_missing="create", permissions=0o640
    ).close()
    assert mode_of(tmp_path / "a.db") == 0o640
    (tmp_path / "a.db").chmod(0o644)
    SQLRepo(MinimalRecord, conn_string=url, table="t2", if_missing="create").close()
    assert mode_of(tmp_path / "a.db") == 0o644
    SQLRepo(
        MinimalRecord,
        conn_string=f"sqlite:///{tmp_path / 'b.db'}",
        table="t",
        if_missing="create",
        permissions=None,
    ).close()
    assert mode_of(tmp_path / "b.db") == 0o644


@pytest.mark.usefixtures("umask_022")
@pytest.mark.parametrize("mode", ["rotate", "watched"])
def test_a_new_log_file_is_owner_only_also_after_rotation(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "tasks.log"
    output = FileLogger(path, mode=mode, max_bytes=200, backup_count=2)  # type: ignore[arg-type]
    logger = logging.getLogger(f"skylaunch.test.permissions.{mode}")
    logger.propagate = False
    logger.addHandler(output)
    try:
        assert mode_of(path) == 0o600
        if mode == "watched":
            path.unlink()  # logrotate moved it away: the handler makes a new one
        for i in range(20):
            logger.warning("line %d of a log that rotates", i)
    finally:
        logger.removeHandler(output)
        output.close()
    files = sorted(tmp_path.iterdir())
    assert len(files) == (3 if mode == "rotate" else 1)
    assert {p.name: mode_of(p) for p in files} == {p.name: 0o600 for p in files}


@pytest.mark.usefixtures("umask_022")
def test_the_log_file_permissions_key(tmp_path: Path) -> None:
    logger = logging.getLogger("skylaunch.task")
    before = list(logger.handlers)
    session = Session(log_file=tmp_path / "a.log", log_file_permissions=0o640)
    for handler in [h for h in logger.handlers if h not in before]:
        logger.removeHandler(handler)
        handler.close()
    assert mode_of(tmp_path / "a.log") == 0o640
    assert session.config.log_file_permissions == 0o640
    with pytest.raises(ConfigError, match="log_file_permissions"):
        Session(log_file_permissions=0o10000)


@pytest.mark.parametrize("bad", [-1, 0o10000, "600", 6.0, True])
def test_bad_permissions_are_refused(bad: object, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="permissions: got"):
        check_permissions(bad)
    with pytest.raises(ValueError, match="permissions: got"):
        CSVFileRepo(tmp_path / "a.csv", model=MinimalRecord, permissions=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="permissions: got"):
        FileLogger(tmp_path / "a.log", permissions=bad)  # type: ignore[arg-type]
    assert not (tmp_path / "a.log").exists()
