"""A CSV file repo: a human-readable history for small apps, no database needed.

Writes only ever append (one write call per batch, flushed and closed), so a crash never
corrupts earlier rows; a failed write is cut back to the previous file size so that a retry
does not double a half-written batch. Reads parse the whole file back through the model, so
they cost O(rows): use SQLite once the history grows large. ``update``/``delete`` rewrite the
file through a temporary file and an atomic rename.

A damaged file stays readable. A row that is not a record (garbage, a bad timestamp, an
unknown action, NUL bytes, bytes that are not in the file's encoding, a wrong number of
cells) is skipped with a :class:`~skylaunch.exc.RepoDataWarning` naming the file and the
line; the rows around it are read as usual, even when the damage opened a quote that never
closes. An unfinished last row (a write cut by a crash, or one still in progress in another
process) is ignored with a warning, and the repo's first write removes it before appending,
so it cannot swallow the new rows. Readers never change the file.
"""

from __future__ import annotations

import codecs
import csv
import errno
import io
import itertools
import math
import os
import re
import types
import typing
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from skylaunch.exc import RepoDataWarning, RepoError, RepoSchemaError, RepoUnavailableError
from skylaunch.log.permissions import DEFAULT_PERMISSIONS, check_permissions, opener
from skylaunch.log.query import Query
from skylaunch.log.repos.base import BaseRepo, Order, field_getter

__all__ = ["CSVFileRepo"]

# Errors after which the same write may work later: a full disk, a busy device, fd exhaustion,
# and what an operator puts right (a file system remounted read-only after an error, a mode or
# an owner changed, the folder removed). Records meet them buffered and retried, as the SQL
# repos' (they were refused for good, lost); no record's content can cause them.
_TRANSIENT_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EAGAIN,
        errno.EIO,
        errno.EBUSY,
        errno.ENFILE,
        errno.EMFILE,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.ENOENT,
    }
)


def _nullable_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields that accept ``None``: an empty CSV cell reads back as ``None`` there."""
    names = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        origin = typing.get_origin(annotation)
        union = origin is typing.Union or origin is types.UnionType
        if (union and type(None) in typing.get_args(annotation)) or annotation in (None, Any):
            names.append(name)
    return frozenset(names)


# The longest header line read: a task log's is a few hundred bytes.
_HEADER_MAX = 64 * 1024


def _excerpt(data: bytes) -> str:
    """``data`` for an error message: its first 60 bytes, and how many more there were."""
    if len(data) <= 60:
        return repr(data)
    return f"{data[:60]!r}... ({len(data) - 60:,} more bytes)"


# What the surrogateescape decoder turns undecodable bytes into.
_UNDECODABLE = re.compile("[\udc80-\udcff]")
# A line no CSV record can end with: it shows whether the last record's quote is still open.
_SENTINEL = "\uffff\n"


@dataclass(slots=True)
class _Entry:
    """One record of the file: where it starts, its text as read, and what it holds."""

    line: int
    """The 1-based number of the record's first line."""
    text: str
    item: Any = None
    problem: str | None = None
    """Why the record was skipped; ``None`` for a good record."""
    stops_reader: bool = False
    """The csv reader raised on it: reading goes on with a new reader on the next line."""


@dataclass(slots=True)
class _Contents:
    entries: list[_Entry]
    torn: _Entry | None
    """An unfinished last record (no final newline or an open quote) that is not a record."""
    lines: list[str]


def _split_lines(text: str) -> list[str]:
    """Lines with their ``\n`` kept; only ``\n`` ends a line (``\r`` stays in the cell)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _unfinished(lines: Sequence[str]) -> bool:
    """Whether the record made of ``lines`` (the file's last) was cut before its end."""
    if not lines[-1].endswith("\n"):
        return True
    try:
        return len(list(csv.reader([*lines, _SENTINEL]))) < 2  # the quote took the sentinel
    except csv.Error:
        return False


def _summary(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "the row"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _created(item: Any) -> float:
    value = field_getter(item)("created")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("-inf")


class CSVFileRepo(BaseRepo[Any]):
    """Records as rows of a CSV file, one column per model field.

    ``fieldnames`` sets the column order (default: the model's field order). Without a model
    items are dicts of strings and the columns come from ``fieldnames`` or the file's header.
    An existing file whose header does not fit raises :class:`~skylaunch.exc.RepoSchemaError`
    here, before anything is written. ``permissions`` is the mode of a file the repo creates
    (default ``0o600``, owner only: records hold tracebacks); an existing file keeps its mode,
    ``None`` leaves the mode to the umask. Damaged rows are skipped with a
    :class:`~skylaunch.exc.RepoDataWarning` (see the module documentation).
    """

    def __init__(
        self,
        filename: str | os.PathLike[str],
        model: type[BaseModel] | None = None,
        fieldnames: Sequence[str] | None = None,
        id_field: str | None = None,
        *,
        encoding: str = "utf-8",
        permissions: int | None = DEFAULT_PERMISSIONS,
    ) -> None:
        super().__init__(model, id_field)
        self.filename = Path(filename)
        self.encoding = encoding
        self.permissions = check_permissions(permissions)
        self._reported: set[tuple[int, str]] = set()
        self._tail_checked = False
        self._file_id: tuple[int, int] | None = None  # the file last written (device, inode)
        header = self._read_header()
        if fieldnames is None:
            if self.model is not None:
                fieldnames = list(self.model.model_fields)
            elif header is not None:
                fieldnames = header
            else:
                raise RepoSchemaError(
                    f"CSVFileRepo({str(self.filename)!r}): give model= or fieldnames= "
                    "(the file has no header to take the columns from)"
                )
        self.fieldnames: list[str] = list(fieldnames)
        if len(set(self.fieldnames)) != len(self.fieldnames):
            raise RepoSchemaError(f"fieldnames repeat a column: {self.fieldnames}")
        if self.model is not None:
            self._check_columns(self.fieldnames, "fieldnames")
        if header is not None:
            self._check_columns(header, f"the header of {str(self.filename)!r}")
            self.fieldnames = header  # write in the file's own column order
        self._nullable = frozenset() if self.model is None else _nullable_fields(self.model)

    def __repr__(self) -> str:
        model = None if self.model is None else self.model.__name__
        return f"CSVFileRepo({str(self.filename)!r}, model={model})"

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.fieldnames)

    def _check_columns(self, columns: Sequence[str], where: str) -> None:
        expected = list(self.model.model_fields) if self.model is not None else self.fieldnames
        missing = [c for c in expected if c not in columns]
        unexpected = [c for c in columns if c not in expected]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing columns {missing}")
            if unexpected:
                parts.append(f"unexpected columns {unexpected}")
            owner = self.model.__name__ if self.model is not None else "the fieldnames"
            raise RepoSchemaError(
                f"{where} does not fit {owner}: {'; '.join(parts)} (expected {expected})"
            )

    def _decode(self, data: bytes) -> tuple[str, bool]:
        """The text of ``data`` and whether some bytes were not in the encoding."""
        try:
            return data.decode(self.encoding), False
        except UnicodeDecodeError:
            pass
        except LookupError as exc:
            raise RepoError(f"CSV log file {str(self.filename)!r}: {exc}") from None
        try:
            return data.decode(self.encoding, "surrogateescape"), True
        except UnicodeDecodeError as exc:
            raise RepoError(
                f"CSV log file {str(self.filename)!r} cannot be read as {self.encoding} "
                f"(byte {exc.start}: {exc.reason}); give the file's encoding= "
            ) from None

    def _read_header(self) -> list[str] | None:
        try:
            with self.filename.open("rb") as handle:
                # (bounded: a file that is no CSV at all may hold no newline for gigabytes)
                first = handle.readline(_HEADER_MAX + 1)
        except FileNotFoundError:
            return None
        where = f"the header of {str(self.filename)!r}"
        if len(first) > _HEADER_MAX and not first.endswith(b"\n"):
            raise RepoSchemaError(
                f"{where} is longer than {_HEADER_MAX:,} bytes: not a task log CSV: "
                f"{_excerpt(first)}"
            )
        text, lossy = self._decode(first)
        if not text:
            return None
        if lossy:
            raise RepoSchemaError(f"{where} is not valid {self.encoding}: {_excerpt(first)}")
        if "\x00" in text:
            raise RepoSchemaError(f"{where} contains NUL bytes: {_excerpt(first)}")
        try:
            return next(csv.reader([text]), None)
        except csv.Error as exc:
            raise RepoSchemaError(
                f"{where} is not a CSV header ({exc}): {_excerpt(first)}"
            ) from None

    def create(self, if_exists: Literal["raise", "ignore"] = "raise") -> None:
        """Write the header to a new file (Red Bird's ``repo.create()``).

        ``if_exists="raise"`` refuses an existing file; ``"ignore"`` leaves it as it is
        (its header was already checked when the repo was built).
        """
        if if_exists not in ("raise", "ignore"):
            raise ValueError(f"if_exists must be 'raise' or 'ignore'; got {if_exists!r}")
        if self.filename.exists():
            if if_exists == "raise":
                raise FileExistsError(f"CSV log file {str(self.filename)!r} already exists")
            return
        self._append([])

    # -- reading the file -------------------------------------------------------------------

    def _report(self, entry: _Entry, what: str) -> None:
        """Warn once per repo about a skipped record (reads repeat; the warning need not)."""
        key = (entry.line, entry.text)
        if key in self._reported:
            return
        self._reported.add(key)
        shown = entry.text if len(entry.text) <= 120 else entry.text[:117] + "..."
        warnings.warn(
            f"{str(self.filename)!r}, line {entry.line}: {what}: {shown!r}",
            RepoDataWarning,
            stacklevel=4,
        )

    def _check(self, cells: list[str], text: str, lossy: bool, nul: bool) -> _Entry:
        entry = _Entry(0, text)
        if lossy and _UNDECODABLE.search(text):
            entry.problem = f"the row is not valid {self.encoding}"
        elif nul and "\x00" in text:
            entry.problem = "the row contains NUL bytes"
        elif len(cells) != len(self.fieldnames):
            entry.problem = f"the row has {len(cells)} cells, the header {len(self.fieldnames)}"
        else:
            try:
                entry.item = self._parse(dict(zip(self.fieldnames, cells, strict=True)))
            except ValidationError as exc:
                entry.problem = f"not a {self.model.__name__ if self.model else 'record'}: " + (
                    _summary(exc)
                )
            else:
                created = field_getter(entry.item)("created")
                if isinstance(created, float) and not math.isfinite(created):
                    entry.problem = f"created is not a finite number ({created})"
        return entry

    def _scan(self, lines: list[str], pos: int, lossy: bool, nul: bool) -> Iterator[_Entry]:
        """Parse ``lines[pos:]`` record by record, from one reader, without recovering."""
        reader = csv.reader(itertools.islice(lines, pos, None))
        consumed = 0
        while True:
            first = pos + consumed
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # Python 3.10's reader refuses NUL bytes; later ones read them into the cell.
                problem = (
                    "the row contains NUL bytes"
                    if "\x00" in lines[first]
                    else f"the row is not CSV ({exc})"
                )
                yield _Entry(first + 1, lines[first], problem=problem, stops_reader=True)
                return  # the reader is lost; the caller starts another on the next line
            consumed = reader.line_num
            if not cells:
                continue  # a blank line
            last = pos + consumed
            text = lines[first] if last == first + 1 else "".join(lines[first:last])
            entry = self._check(cells, text, lossy, nul)
            entry.line = first + 1
            yield entry

    def _load(self) -> _Contents:
        """Every record of the file, good and bad, and an unfinished last one."""
        try:
            data = self.filename.read_bytes()
        except FileNotFoundError:
            return _Contents([], None, [])
        text, lossy = self._decode(data)
        lines = _split_lines(text)
        nul = "\x00" in text
        entries: list[_Entry] = []
        torn: _Entry | None = None
        pos = 1  # line 0 is the header, checked when the repo was built
        while pos < len(lines):
            restart = None
            for entry in self._scan(lines, pos, lossy, nul):
                first = entry.line - 1
                last = first + entry.text.count("\n") + (not entry.text.endswith("\n"))
                if last - first > 1 and self._good_within(lines, first + 1, last, lossy, nul):
                    # A quote opened by damage swallowed rows below it: only its line is bad.
                    problem = entry.problem or "a quote that never closes swallows the next rows"
                    entries.append(_Entry(entry.line, lines[first], problem=problem))
                    restart = first + 1
                    break
                if (
                    entry.problem is not None
                    and last >= len(lines)
                    and _unfinished(lines[first:last])
                ):
                    torn = entry
                    break
                entries.append(entry)
                if entry.stops_reader:
                    restart = first + 1
                    break
            if restart is None:
                break
            pos = restart
        return _Contents(entries, torn, lines)

    def _good_within(self, lines: list[str], start: int, stop: int, lossy: bool, nul: bool) -> bool:
        """Whether a good record starts on one of ``lines[start:stop]`` (read on its own).

        Each line is tried as the start of a record with a reader of its own: one reader
        going on from ``start`` could be swallowed by the same open quote, or stopped by a
        stray carriage return, and miss the good rows behind them.
        """
        for pos in range(start, stop):
            entry = next(self._scan(lines, pos, lossy, nul), None)
            if entry is not None and entry.problem is None and entry.line - 1 < stop:
                return True
        return False

    def _read(self) -> _Contents:
        contents = self._load()
        for entry in contents.entries:
            if entry.problem is not None:
                self._report(entry, f"{entry.problem}; the row is skipped")
        if contents.torn is not None:
            self._report(
                contents.torn,
                "the last row is unfinished (a write cut by a crash, or one in progress); "
                "it is ignored",
            )
        return contents

    # -- writing ----------------------------------------------------------------------------

    def _row(self, item: Any) -> dict[str, Any]:
        data = item.model_dump(mode="json") if isinstance(item, BaseModel) else item
        return {name: data.get(name) for name in self.fieldnames}

    def _repair_tail(self, size: int) -> tuple[int, str]:
        """Before this repo's first write: cut an unfinished last row, or end the last line.

        Returns the file's size afterwards and what the new text must start with.
        """
        contents = self._load()
        torn = contents.torn
        if torn is not None:
            keep = "".join(contents.lines[: torn.line - 1])
            new_size = len(keep.encode(self.encoding, "surrogateescape"))
            with self.filename.open("r+b") as handle:
                handle.truncate(new_size)
            shown = torn.text if len(torn.text) <= 200 else torn.text[:197] + "..."
            warnings.warn(
                f"{str(self.filename)!r}, line {torn.line}: removed the unfinished last row "
                f"an interrupted write left, before appending: {shown!r}",
                RepoDataWarning,
                stacklevel=5,
            )
            return new_size, ""
        if contents.lines and not contents.lines[-1].endswith("\n"):
            return size, "\n"  # a complete last row without its newline (hand-edited)
        return size, ""

    def _append(self, items: Sequence[Any]) -> None:
        try:
            stat = self.filename.stat()
            size, file_id = stat.st_size, (stat.st_dev, stat.st_ino)
        except FileNotFoundError:
            size, file_id = 0, None
        if file_id != self._file_id and size:
            # Not the file this repo last wrote (another one renamed over it): its header is
            # checked again, or the rows would go under a header they do not fit, unread
            # until the next start refused the file.
            self._tail_checked = False
            header = self._read_header()
            if header is not None:
                self._check_columns(header, f"the header of {str(self.filename)!r}")
                self.fieldnames = header
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.fieldnames, lineterminator="\n")
        prefix = ""
        if size and not self._tail_checked:
            size, prefix = self._repair_tail(size)
        if size == 0:
            writer.writeheader()
        writer.writerows(self._row(item) for item in items)
        # Encoded here and written unbuffered: a text file's truncate() flushes first, and
        # after a write the disk took only part of (ENOSPC) that flush fails again, so the
        # part stayed in the file and the retry's rows were appended to a torn one.
        encoder = codecs.getincrementalencoder(self.encoding)()
        if size:
            encoder.setstate(0)  # no byte-order mark in the middle of the file
        data = memoryview(encoder.encode(prefix + buffer.getvalue(), final=True))
        try:
            with open(  # Path.open takes no opener
                self.filename, "ab", buffering=0, opener=opener(self.permissions)
            ) as handle:
                try:
                    while data:
                        data = data[handle.write(data) :]
                except OSError:
                    handle.truncate(size)  # undo a partial batch: a retry must not double it
                    raise
                stat = os.fstat(handle.fileno())
                self._file_id = (stat.st_dev, stat.st_ino)
        except OSError as exc:
            if exc.errno in _TRANSIENT_ERRNOS:
                raise RepoUnavailableError(
                    f"cannot write to {str(self.filename)!r} for now: {exc}"
                ) from exc
            raise
        self._tail_checked = True

    def insert_items(self, items: Sequence[Any]) -> None:
        self._append(items)

    # -- reading ----------------------------------------------------------------------------

    def _parse(self, row: dict[str, Any]) -> Any:
        if self.model is None:
            return row
        data = {k: (None if v == "" and k in self._nullable else v) for k, v in row.items()}
        return self.model.model_validate(data)

    def query_items(self, query: Query, *, order: Order, limit: int | None) -> Iterator[Any]:
        items = [entry.item for entry in self._read().entries if entry.problem is None]
        found = [item for item in items if query.matches(field_getter(item))]
        # A stable sort keeps file (insertion) order among equal ``created`` values.
        if order == "-created":
            found.reverse()
            found.sort(key=_created, reverse=True)
        else:
            found.sort(key=_created)
        return iter(found if limit is None else found[:limit])

    # -- changing ---------------------------------------------------------------------------

    def _rewrite(self, entries: list[_Entry], rows: dict[int, dict[str, Any]]) -> None:
        """Write the header and ``entries`` (those in ``rows`` changed, others as read).

        Skipped rows are kept as they were; an unfinished last row is not written. The new
        file gets the mode of the one it replaces.
        """
        try:
            mode: int | None = self.filename.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = self.permissions
        tmp = self.filename.with_name(self.filename.name + ".tmp")
        with open(  # Path.open takes no opener
            tmp,
            "w",
            newline="",
            encoding=self.encoding,
            errors="surrogateescape",
            opener=opener(DEFAULT_PERMISSIONS if mode is not None else None),
        ) as handle:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            writer = csv.DictWriter(handle, fieldnames=self.fieldnames, lineterminator="\n")
            writer.writeheader()
            for index, entry in enumerate(entries):
                row = rows.get(index)
                if row is not None:
                    writer.writerow(row)
                else:
                    handle.write(entry.text if entry.text.endswith("\n") else entry.text + "\n")
            stat = os.fstat(handle.fileno())
        os.replace(tmp, self.filename)
        self._file_id = (stat.st_dev, stat.st_ino)
        self._tail_checked = True

    def update_items(self, query: Query, values: Mapping[str, Any]) -> int:
        entries = self._read().entries
        rows: dict[int, dict[str, Any]] = {}
        for index, entry in enumerate(entries):
            item = entry.item
            if entry.problem is None and query.matches(field_getter(item)):
                if self.model is None:
                    item = {**item, **values}
                else:
                    item = self.model.model_validate({**item.model_dump(), **values})
                rows[index] = self._row(item)
        if rows:
            self._rewrite(entries, rows)
        return len(rows)

    def delete_items(self, query: Query) -> int:
        entries = self._read().entries
        kept = [
            entry
            for entry in entries
            if entry.problem is not None or not query.matches(field_getter(entry.item))
        ]
        if len(kept) != len(entries):
            self._rewrite(kept, {})
        return len(entries) - len(kept)
