"""A CSV file repo: a human-readable history for small apps, no database needed.

Writes only ever append (one write call per batch, flushed and closed), so a crash never
corrupts earlier rows; a failed write is cut back to the previous file size so that a retry
does not double a half-written batch. Reads parse the whole file back through the model, so
they cost O(rows): use SQLite once the history grows large. ``update``/``delete`` rewrite the
file through a temporary file and an atomic rename.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from skylaunch.exc import RepoSchemaError, RepoUnavailableError
from skylaunch.log.query import Query
from skylaunch.log.repos.base import BaseRepo, Order, field_getter

__all__ = ["CSVFileRepo"]

# Errors after which the same write may work later (full disk, busy device, fd exhaustion).
_TRANSIENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EAGAIN, errno.EIO, errno.EBUSY, errno.ENFILE, errno.EMFILE}
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
    here, before anything is written.
    """

    def __init__(
        self,
        filename: str | os.PathLike[str],
        model: type[BaseModel] | None = None,
        fieldnames: Sequence[str] | None = None,
        id_field: str | None = None,
        *,
        encoding: str = "utf-8",
    ) -> None:
        super().__init__(model, id_field)
        self.filename = Path(filename)
        self.encoding = encoding
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

    def _read_header(self) -> list[str] | None:
        try:
            with self.filename.open(newline="", encoding=self.encoding) as handle:
                return next(csv.reader(handle), None)
        except FileNotFoundError:
            return None

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

    # -- writing ----------------------------------------------------------------------------

    def _row(self, item: Any) -> dict[str, Any]:
        data = item.model_dump(mode="json") if isinstance(item, BaseModel) else item
        return {name: data.get(name) for name in self.fieldnames}

    def _append(self, items: Sequence[Any]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.fieldnames, lineterminator="\n")
        try:
            size = self.filename.stat().st_size
        except FileNotFoundError:
            size = 0
        if size == 0:
            writer.writeheader()
        writer.writerows(self._row(item) for item in items)
        text = buffer.getvalue()
        try:
            with self.filename.open("a", newline="", encoding=self.encoding) as handle:
                try:
                    handle.write(text)
                    handle.flush()
                except OSError:
                    handle.truncate(size)  # undo a partial batch: a retry must not double it
                    raise
        except OSError as exc:
            if exc.errno in _TRANSIENT_ERRNOS:
                raise RepoUnavailableError(
                    f"cannot write to {str(self.filename)!r} for now: {exc}"
                ) from exc
            raise

    def insert_items(self, items: Sequence[Any]) -> None:
        self._append(items)

    # -- reading ----------------------------------------------------------------------------

    def _parse(self, row: dict[str, Any]) -> Any:
        if self.model is None:
            return row
        data = {k: (None if v == "" and k in self._nullable else v) for k, v in row.items()}
        return self.model.model_validate(data)

    def _rows(self) -> list[dict[str, Any]]:
        try:
            with self.filename.open(newline="", encoding=self.encoding) as handle:
                return list(csv.DictReader(handle))
        except FileNotFoundError:
            return []

    def query_items(self, query: Query, *, order: Order, limit: int | None) -> Iterator[Any]:
        items = [self._parse(row) for row in self._rows()]
        found = [item for item in items if query.matches(field_getter(item))]
        # A stable sort keeps file (insertion) order among equal ``created`` values.
        if order == "-created":
            found.reverse()
            found.sort(key=_created, reverse=True)
        else:
            found.sort(key=_created)
        return iter(found if limit is None else found[:limit])

    # -- changing ---------------------------------------------------------------------------

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        tmp = self.filename.with_name(self.filename.name + ".tmp")
        with tmp.open("w", newline="", encoding=self.encoding) as handle:
            writer = csv.DictWriter(handle, fieldnames=self.fieldnames, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.filename)

    def update_items(self, query: Query, values: Mapping[str, Any]) -> int:
        rows, changed = [], 0
        for row in self._rows():
            item = self._parse(row)
            if query.matches(field_getter(item)):
                if self.model is None:
                    item = {**item, **values}
                else:
                    item = self.model.model_validate({**item.model_dump(), **values})
                row = self._row(item)
                changed += 1
            rows.append(row)
        if changed:
            self._rewrite(rows)
        return changed

    def delete_items(self, query: Query) -> int:
        rows = self._rows()
        kept = [row for row in rows if not query.matches(field_getter(self._parse(row)))]
        if len(kept) != len(rows):
            self._rewrite(kept)
        return len(rows) - len(kept)
