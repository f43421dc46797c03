"""CSVFileRepo specifics: header checks, create, append-only writes, transient disk errors."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import Any

import pytest

from skylaunch.exc import RepoSchemaError, RepoUnavailableError
from skylaunch.log import CSVFileRepo, MinimalRecord, TaskRunRecord
from skylaunch.log.repos import csv as csv_module


def test_create_writes_the_header(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    repo = CSVFileRepo(filename=path, model=MinimalRecord)
    repo.create()
    assert path.read_text() == "task_name,action,created\n"
    with pytest.raises(FileExistsError, match=r"log\.csv"):
        repo.create()
    repo.create(if_exists="ignore")
    with pytest.raises(ValueError, match="if_exists"):
        repo.create(if_exists="replace")  # type: ignore[arg-type]


def test_first_write_adds_the_header_and_writes_append(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    repo = CSVFileRepo(path, model=MinimalRecord)
    repo.add({"task_name": "x", "action": "run", "created": 1.5})
    repo.insert(
        [
            {"task_name": "x", "action": "success", "created": 2.0},
            {"task_name": "y", "action": "fail", "created": 3.0},
        ]
    )
    assert path.read_text().splitlines() == [
        "task_name,action,created",
        "x,run,1.5",
        "x,success,2.0",
        "y,fail,3.0",
    ]


def test_wrong_header_names_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("task_name,created,color\n")
    with pytest.raises(
        RepoSchemaError, match=r"missing columns \['action'\].*unexpected columns \['color'\]"
    ):
        CSVFileRepo(path, model=MinimalRecord)


def test_header_in_another_order_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("created,task_name,action\n1.0,x,run\n")
    repo = CSVFileRepo(path, model=MinimalRecord)
    repo.add({"task_name": "x", "action": "success", "created": 2.0})
    assert path.read_text().splitlines()[-1] == "2.0,x,success"
    assert [i.action for i in repo.filter_by(task_name="x").all()] == ["run", "success"]


def test_fieldnames_must_fit_the_model(tmp_path: Path) -> None:
    with pytest.raises(RepoSchemaError, match=r"missing columns \['created'\]"):
        CSVFileRepo(tmp_path / "a.csv", model=MinimalRecord, fieldnames=["task_name", "action"])
    with pytest.raises(RepoSchemaError, match="repeat"):
        CSVFileRepo(tmp_path / "a.csv", fieldnames=["a", "a"])
    with pytest.raises(RepoSchemaError, match="model= or fieldnames="):
        CSVFileRepo(tmp_path / "a.csv")


def test_dict_items_from_an_existing_header(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("task_name,action,created\nx,run,1.0\n")
    repo = CSVFileRepo(path)
    assert repo.fields == ("task_name", "action", "created")
    assert repo.filter_by(task_name="x").all() == [
        {"task_name": "x", "action": "run", "created": "1.0"}
    ]


def test_empty_string_stays_a_string_where_none_is_not_allowed(tmp_path: Path) -> None:
    repo = CSVFileRepo(tmp_path / "log.csv", model=TaskRunRecord)
    repo.add({"task_name": "x", "action": "run", "created": 1.0, "message": "", "run_id": None})
    item = repo.filter_by().first()
    assert item.message == ""
    assert item.run_id is None


def test_transient_disk_error_leaves_no_partial_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log.csv"
    repo = CSVFileRepo(path, model=MinimalRecord)
    repo.add({"task_name": "x", "action": "run", "created": 1.0})
    before = path.read_text()
    real_open = open

    class HalfWriter:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> HalfWriter:  # noqa: PYI034
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: Any) -> None:
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self) -> None:
            self.handle.flush()

        def truncate(self, size: int) -> None:
            self.handle.truncate(size)

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        return HalfWriter(handle) if mode.startswith("a") else handle

    monkeypatch.setattr(csv_module, "open", fake_open, raising=False)
    with pytest.raises(RepoUnavailableError, match="No space left"):
        repo.insert(
            [{"task_name": "x", "action": "success", "created": float(i)} for i in range(9)]
        )
    monkeypatch.undo()
    assert path.read_text() == before
    repo.add({"task_name": "x", "action": "success", "created": 2.0})
    assert repo.filter_by().count() == 2


class _SmallDisk(io.RawIOBase):
    """A file on a disk with room for ``room[0]`` more bytes, as the kernel writes to it:
    a write takes what fits and returns its count; once nothing fits it fails ENOSPC."""

    def __init__(self, raw: io.FileIO, room: list[int]) -> None:
        super().__init__()
        self.raw, self.room = raw, room

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.raw.fileno()

    def tell(self) -> int:
        return self.raw.tell()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def truncate(self, size: int | None = None) -> int:
        return self.raw.truncate(size)

    def write(self, data: Any) -> int:
        if self.room[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        written = self.raw.write(bytes(data)[: self.room[0]])
        self.room[0] -= written
        return written

    def close(self) -> None:
        self.raw.close()
        super().close()


def test_a_full_disk_mid_batch_leaves_no_torn_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills mid-batch: the kernel takes part of the batch, then refuses. The
    part was left in the file (the text file's truncate flushed first, which failed again),
    the retry appended the batch after it, and the torn row swallowed a record (a probe on a
    full tmpfs read back a row ``always,sucalways,success,...``)."""
    path = tmp_path / "log.csv"
    repo = CSVFileRepo(path, model=MinimalRecord)
    repo.add({"task_name": "x", "action": "run", "created": 1.0})
    before = path.read_bytes()
    room = [40]
    real_open = open

    def small_disk_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if not mode.startswith("a"):
            return real_open(file, mode, *args, **kwargs)
        raw = _SmallDisk(real_open(file, "ab", buffering=0, opener=kwargs.get("opener")), room)
        if "b" in mode:
            return raw
        text = io.TextIOWrapper(
            io.BufferedWriter(raw), encoding=kwargs.get("encoding"), newline=kwargs.get("newline")
        )
        text.mode = mode  # type: ignore[misc]
        return text

    monkeypatch.setattr(csv_module, "open", small_disk_open, raising=False)
    batch = [{"task_name": "x", "action": "success", "created": float(i)} for i in range(9)]
    with pytest.raises(RepoUnavailableError, match="No space left"):
        repo.insert(batch)
    assert path.read_bytes() == before
    room[0] = 1 << 20  # room again: the retry
    repo.insert(batch)
    monkeypatch.undo()
    assert repo.filter_by().count() == 10
    assert path.read_text().count("\n") == 11


@pytest.mark.parametrize(
    ("replacement", "error"),
    [
        (b"a,b,c\n1,2,3\n", "does not fit MinimalRecord"),
        (b"\xc8X\xd7\xf6\x08d\xb2t\x80\xbd\xd0g\n", "not valid utf-8"),
    ],
)
def test_a_file_renamed_over_the_log_is_checked_before_rows_are_appended(
    tmp_path: Path, replacement: bytes, error: str
) -> None:
    """Another file renamed over the log while the repo writes to it: the rows were appended
    under its header, with no error, and the next start refused the file (a probe under a
    running scheduler). Now the write is refused, as the file would be at construction."""
    path = tmp_path / "log.csv"
    repo = CSVFileRepo(path, model=MinimalRecord)
    repo.add({"task_name": "x", "action": "run", "created": 1.0})
    other = tmp_path / "other.csv"
    other.write_bytes(replacement)
    other.replace(path)
    with pytest.raises(RepoSchemaError, match=error):
        repo.add({"task_name": "x", "action": "success", "created": 2.0})
    assert path.read_bytes() == replacement


def test_a_file_renamed_over_the_log_with_its_columns_reordered_gets_rows_in_its_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.csv"
    repo = CSVFileRepo(path, model=MinimalRecord)
    repo.add({"task_name": "x", "action": "run", "created": 1.0})
    other = tmp_path / "other.csv"
    other.write_text("created,action,task_name\n1.0,run,x\n")
    other.replace(path)
    repo.add({"task_name": "x", "action": "success", "created": 2.0})
    assert path.read_text().splitlines()[-1] == "2.0,success,x"
    assert [r.action for r in CSVFileRepo(path, model=MinimalRecord).filter_by().all()] == [
        "run",
        "success",
    ]


def test_update_and_delete_rewrite_atomically(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    repo = CSVFileRepo(path, model=MinimalRecord)
    repo.insert({"task_name": "x", "action": "run", "created": float(i)} for i in range(3))
    assert repo.filter_by(created=1.0).update(action="crash") == 1
    assert repo.filter_by(created=0.0).delete() == 1
    assert repo.filter_by(created=99.0).delete() == 0
    assert path.read_text().splitlines() == [
        "task_name,action,created",
        "x,crash,1.0",
        "x,run,2.0",
    ]
    assert not (tmp_path / "log.csv.tmp").exists()


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (errno.EROFS, "Read-only file system"),
        (errno.EACCES, "Permission denied"),
        (errno.ENOENT, "No such file or directory"),
    ],
)
def test_a_log_an_operator_can_put_right_is_unavailable_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, text: str
) -> None:
    # Found by probing a read-only file system under a running scheduler: the CSV repo refused
    # the records for good (lost) where the SQL repos buffer and retry them.
    path = tmp_path / "log.csv"
    repo = CSVFileRepo(path, model=MinimalRecord)
    repo.add({"task_name": "x", "action": "run", "created": 1.0})

    def refusing(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        raise OSError(code, text)

    monkeypatch.setattr(csv_module, "open", refusing, raising=False)
    with pytest.raises(RepoUnavailableError, match=text):
        repo.add({"task_name": "x", "action": "success", "created": 2.0})
    monkeypatch.undo()
    repo.add({"task_name": "x", "action": "success", "created": 2.0})  # the retry
    assert [r.action for r in repo.filter_by().all()] == ["run", "success"]
