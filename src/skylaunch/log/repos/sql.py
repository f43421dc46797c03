"""A SQL table repo on SQLAlchemy 2 Core: SQLite (file or memory) and PostgreSQL.

The only module that imports SQLAlchemy, so ``import skylaunch`` stays fast for apps that log
to memory or CSV.

Design points:

* One table, one column per model field, plus an integer surrogate key (``id`` unless the
  model uses that name) that records insertion order: ``created`` can repeat, and "the last
  record" must still be one well-defined row.
* Two indexes, ``(task_name, created)`` and ``(task_name, action, created)``, serve what the
  scheduler asks: a task's newest records (restore) and "the last success of x".
* Query operators become SQL; ``count`` is ``COUNT(*)``; ``last()`` is ``ORDER BY created DESC
  LIMIT 1``; a batch is one ``executemany`` in one transaction (all or nothing).
* Datetimes are stored as UTC and read back aware (SQLite has no time zones; naive input is
  read as local time). Timedeltas use SQL intervals.
* Lost connections, a locked SQLite file, a server restart: raised as
  :class:`~skylaunch.exc.RepoUnavailableError`, which writers retry.
"""

from __future__ import annotations

import os
import re
import types
import typing
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from functools import singledispatch
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import ColumnElement

from skylaunch.exc import RepoSchemaError, RepoUnavailableError
from skylaunch.log.permissions import check_permissions
from skylaunch.log.query import (
    Between,
    Equal,
    GreaterEqual,
    GreaterThan,
    In,
    LessEqual,
    LessThan,
    NotEqual,
    Operator,
    Query,
)
from skylaunch.log.repos.base import BaseRepo, Order

__all__ = ["SQLRepo", "normalize_url"]

_UTC = timezone.utc

# SQLite reports schema mistakes as OperationalError too; those are not worth retrying.
_PERMANENT_MESSAGE = re.compile(r"no such (table|column)|has no column|syntax error", re.IGNORECASE)


class AwareDateTime(sa.TypeDecorator[datetime]):
    """Aware datetimes in, aware datetimes out, on databases with and without time zones."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime; got {value!r}")
        value = value.astimezone(_UTC)  # naive values are local time
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=_UTC)
        return value


def normalize_url(url: str) -> str:
    """Point plain ``postgresql://`` URLs at psycopg 3, the driver the ``postgres`` extra installs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _engine_from_url(url: str) -> Engine:
    url = normalize_url(url)
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        # One shared connection, or every thread (the handler's retry timer) sees its own
        # empty in-memory database.
        return sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    engine = sa.create_engine(url, pool_pre_ping=True)
    if parsed.get_backend_name() == "sqlite":
        # Without WAL every record costs a journal fsync (~10 ms measured); WAL with
        # synchronous=NORMAL survives a crash of the process and lets readers run beside
        # the writer.
        sa.event.listen(engine, "connect", _sqlite_wal)
    return engine


def _create_sqlite_file(url: sa.URL, permissions: int | None) -> None:
    """Create a missing SQLite database file with ``permissions`` before SQLite does.

    SQLite creates a missing file 0o644 (less the umask), and its ``-wal``/``-shm`` files
    copy the mode of the database file; an empty file is a valid empty database. An existing
    file, an in-memory database and other databases are left alone.
    """
    database = url.database
    if permissions is None or url.get_backend_name() != "sqlite":
        return
    if database in (None, "", ":memory:") or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, permissions)
    except FileExistsError:
        return
    except OSError:
        return  # a missing folder, no right to create: SQLite reports it when it connects
    os.close(fd)


def _dispose(engine: Engine, pid: int) -> None:
    """Close the engine's pooled connections (the finalizer of a repo that built it).

    In a forked child the connections are the parent's: closing them there would end the
    parent's sessions (a PostgreSQL connection sends its goodbye on the shared socket), so
    the child only forgets them, as SQLAlchemy advises.
    """
    engine.dispose(close=os.getpid() == pid)


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """``(type, nullable)`` for an annotation such as ``datetime | None``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) != len(typing.get_args(annotation))
        if len(args) == 1:
            return _unwrap(args[0])[0], nullable
        return annotation, nullable
    return annotation, False


def _sql_type(model: type[BaseModel], name: str, annotation: Any) -> Any:
    kind, _ = _unwrap(annotation)
    origin = typing.get_origin(kind)
    if origin is Literal:
        values = typing.get_args(kind)
        if all(isinstance(v, str) for v in values):
            return sa.String()
    if kind is bool:
        return sa.Boolean()
    if kind is int:
        return sa.BigInteger()
    if kind is float:
        return sa.Float()
    if kind is str:
        return sa.String()
    if kind is datetime:
        return AwareDateTime()
    if kind is date:
        return sa.Date()
    if kind is timedelta:
        return sa.Interval()
    if kind in (dict, list) or origin in (dict, list):
        return sa.JSON()
    raise RepoSchemaError(
        f"{model.__name__}.{name}: no SQL column type for {annotation!r} "
        "(use str, int, float, bool, datetime, date, timedelta, dict or list)"
    )


@singledispatch
def _condition(oper: Operator, column: Any) -> ColumnElement[bool]:
    raise TypeError(f"SQLRepo cannot translate the query operator {oper!r} to SQL")


@_condition.register
def _(oper: Equal, column: Any) -> ColumnElement[bool]:
    return column.is_(None) if oper.value is None else column == oper.value  # type: ignore[no-any-return]


@_condition.register
def _(oper: NotEqual, column: Any) -> ColumnElement[bool]:
    # Python's `None != x` is True: keep NULL rows as the memory repo does.
    return column.is_distinct_from(oper.value)  # type: ignore[no-any-return]


@_condition.register
def _(oper: GreaterThan, column: Any) -> ColumnElement[bool]:
    return column > oper.value  # type: ignore[no-any-return]


@_condition.register
def _(oper: GreaterEqual, column: Any) -> ColumnElement[bool]:
    return column >= oper.value  # type: ignore[no-any-return]


@_condition.register
def _(oper: LessThan, column: Any) -> ColumnElement[bool]:
    return column < oper.value  # type: ignore[no-any-return]


@_condition.register
def _(oper: LessEqual, column: Any) -> ColumnElement[bool]:
    return column <= oper.value  # type: ignore[no-any-return]


@_condition.register
def _(oper: Between, column: Any) -> ColumnElement[bool]:
    return column.between(oper.start, oper.end)  # type: ignore[no-any-return]


@_condition.register
def _(oper: In, column: Any) -> ColumnElement[bool]:
    present = [v for v in oper.values if v is not None]
    expr: ColumnElement[bool] = column.in_(present)
    if len(present) != len(oper.values):
        expr = sa.or_(expr, column.is_(None))
    return expr


class SQLRepo(BaseRepo[Any]):
    """Records as rows of one SQL table.

    Give ``engine`` (a SQLAlchemy engine) or ``conn_string`` (a URL; ``postgresql://`` uses
    psycopg 3). ``if_missing="create"`` creates the table and its indexes; an existing table
    must have a column for every model field, or :class:`~skylaunch.exc.RepoSchemaError` is
    raised here. ``model=None`` reads the table's columns and returns dicts.

    :meth:`close` (or a ``with`` block) disposes an engine the repo built from
    ``conn_string``, closing its connections; an engine you pass is yours to dispose. An
    engine the repo built is also disposed when the repo is garbage-collected or the
    interpreter exits, so a forgotten ``close()`` never leaves a database connection to be
    reclaimed (and warned about) by the garbage collector. ``permissions`` is the mode of an
    SQLite database file the repo creates (default ``0o600``: task records hold tracebacks);
    an existing file keeps its mode, ``None`` leaves the mode to SQLite and the umask.
    """

    def __init__(
        self,
        model: type[BaseModel] | None = None,
        *,
        table: str,
        engine: Engine | None = None,
        conn_string: str | None = None,
        id_field: str | None = None,
        if_missing: Literal["raise", "create"] = "raise",
        schema: str | None = None,
        permissions: int | None = 0o600,
    ) -> None:
        super().__init__(model, id_field)
        if if_missing not in ("raise", "create"):
            raise ValueError(f"if_missing must be 'raise' or 'create'; got {if_missing!r}")
        if (engine is None) == (conn_string is None):
            raise TypeError("SQLRepo needs exactly one of engine= or conn_string=")
        self.permissions = check_permissions(permissions)
        self._owns_engine = engine is None
        if engine is not None:
            self.engine: Engine = engine
        else:
            self.engine = _engine_from_url(conn_string or "")
            weakref.finalize(self, _dispose, self.engine, os.getpid())
        try:
            _create_sqlite_file(self.engine.url, self.permissions)
            self._setup(table, schema, if_missing)
        except BaseException:
            self.close()
            raise

    def _setup(self, table: str, schema: str | None, if_missing: str) -> None:
        self.table_name = table
        self.schema = schema
        self._adapters: dict[str, TypeAdapter[Any]] = {}
        with self._translate():
            inspector = sa.inspect(self.engine)
            exists = inspector.has_table(table, schema=schema)
            existing = (
                {c["name"]: c for c in inspector.get_columns(table, schema=schema)}
                if exists
                else {}
            )
            primary = (
                inspector.get_pk_constraint(table, schema=schema).get("constrained_columns", [])
                if exists
                else []
            )
        if not exists and if_missing == "raise":
            raise RepoSchemaError(
                f"table {table!r} does not exist; create it or pass if_missing='create'"
            )
        if self.model is None:
            if not exists:
                raise RepoSchemaError(f"cannot create table {table!r} without a model")
            self.table = self._reflected(existing, primary)
        else:
            self.table = self._from_model(self.model, existing, primary)
            if exists:
                missing = [n for n in self.model.model_fields if n not in existing]
                if missing:
                    raise RepoSchemaError(
                        f"table {table!r} lacks columns for {self.model.__name__} fields "
                        f"{missing} (it has {list(existing)})"
                    )
        self._seq_column = self._find_seq_column()
        self._columns = [c for c in self.table.columns if c is not self._seq_column]
        if not exists:
            self.create_indexes()
            with self._translate():
                self.table.metadata.create_all(self.engine)

    def __repr__(self) -> str:
        model = None if self.model is None else self.model.__name__
        return f"SQLRepo(table={self.table_name!r}, model={model}, url={self.engine.url!r})"

    def close(self) -> None:
        """Dispose the engine if the repo built it (``conn_string=``); a given engine stays open."""
        if self._owns_engine:
            self.engine.dispose()

    # -- schema -------------------------------------------------------------------------------

    @property
    def fields(self) -> tuple[str, ...]:
        """Queryable names: the model's fields plus the surrogate key (for ``get_by``)."""
        if self.model is None:
            return tuple(c.name for c in self.table.columns)
        seq = () if self._seq_column is None else (self._seq_column.name,)
        return (*self.model.model_fields, *seq)

    def _surrogate_name(self, fields: Sequence[str]) -> str:
        if self.id_field is not None and self.id_field not in fields:
            return self.id_field
        return "id" if "id" not in fields else "_seq"

    def _from_model(
        self, model: type[BaseModel], existing: Mapping[str, Any], primary: Sequence[str]
    ) -> sa.Table:
        fields = list(model.model_fields)
        columns = []
        for name, info in model.model_fields.items():
            _, nullable = _unwrap(info.annotation)
            columns.append(
                sa.Column(
                    name,
                    _sql_type(model, name, info.annotation),
                    nullable=nullable or not info.is_required(),
                )
            )
        seq: str | None
        if existing:
            # Use the table's own integer key for insertion order when it is not a field.
            seq = primary[0] if len(primary) == 1 and primary[0] not in fields else None
        else:
            seq = self._surrogate_name(fields)
        if seq is not None:
            columns.insert(
                0,
                sa.Column(
                    seq,
                    sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                    primary_key=True,
                    autoincrement=True,
                ),
            )
        return sa.Table(self.table_name, sa.MetaData(), *columns, schema=self.schema)

    def _reflected(self, existing: Mapping[str, Any], primary: Sequence[str]) -> sa.Table:
        columns = []
        for name, info in existing.items():
            kind = info["type"]
            if isinstance(kind, sa.DateTime):
                kind = AwareDateTime()
            columns.append(sa.Column(name, kind, primary_key=name in primary))
        return sa.Table(self.table_name, sa.MetaData(), *columns, schema=self.schema)

    def _find_seq_column(self) -> sa.Column[Any] | None:
        keys = list(self.table.primary_key.columns)
        if (
            len(keys) == 1
            and isinstance(keys[0].type, sa.Integer)
            and (self.model is None or keys[0].name not in self.model.model_fields)
        ):
            return keys[0]
        return None

    def create_indexes(self) -> None:
        """Add the indexes the scheduler's queries use (``IF NOT EXISTS``; safe to repeat).

        Called when the repo creates the table; call it yourself for a table created elsewhere
        (for instance by Rocketry/Red Bird) to make restores and "last X" lookups index seeks.
        """
        cols = self.table.c
        wanted: list[tuple[Any, ...]] = []
        if "task_name" in cols and "created" in cols:
            wanted.append((f"ix_{self.table_name}_task_created", cols.task_name, cols.created))
            if "action" in cols:
                wanted.append(
                    (
                        f"ix_{self.table_name}_task_action_created",
                        cols.task_name,
                        cols.action,
                        cols.created,
                    )
                )
        known = {index.name for index in self.table.indexes}
        indexes = [sa.Index(name, *columns) for name, *columns in wanted if name not in known]
        if sa.inspect(self.engine).has_table(self.table_name, schema=self.schema):
            with self._translate(), self.engine.begin() as conn:
                for index in indexes:
                    index.create(conn, checkfirst=True)

    # -- errors -------------------------------------------------------------------------------

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """Raise connection-level failures as :class:`RepoUnavailableError` (retryable)."""
        try:
            yield
        except sa_exc.DBAPIError as exc:
            transient = exc.connection_invalidated or (
                isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
                and not _PERMANENT_MESSAGE.search(str(exc.orig))
            )
            if transient:
                raise RepoUnavailableError(
                    f"{self.engine.url.render_as_string(hide_password=True)} is unavailable: "
                    f"{str(exc.orig).strip()}"
                ) from exc
            raise
        except sa_exc.TimeoutError as exc:  # pool exhausted
            raise RepoUnavailableError(f"no connection to {self.engine.url!r}: {exc}") from exc

    # -- writing ------------------------------------------------------------------------------

    def _row(self, item: Any) -> dict[str, Any]:
        names = self.table.c.keys()
        if isinstance(item, BaseModel):
            return {name: getattr(item, name) for name in type(item).model_fields if name in names}
        return {name: value for name, value in item.items() if name in names}

    def insert_items(self, items: Sequence[Any]) -> None:
        rows = [self._row(item) for item in items]
        keys = dict.fromkeys(key for row in rows for key in row)
        rows = [{key: row.get(key) for key in keys} for row in rows]
        with self._translate(), self.engine.begin() as conn:
            conn.execute(self.table.insert(), rows)

    # -- reading ------------------------------------------------------------------------------

    def _where(self, query: Query) -> list[ColumnElement[bool]]:
        return [_condition(oper, self.table.c[name]) for name, oper in query]

    def _order(self, order: Order) -> list[Any]:
        keys: list[Any] = []
        if "created" in self.table.c:
            keys.append(self.table.c.created)
        if self._seq_column is not None:
            keys.append(self._seq_column)
        elif self.engine.dialect.name == "sqlite":
            keys.append(sa.literal_column("rowid"))
        return [k.desc() if order == "-created" else k.asc() for k in keys]

    def _item(self, row: Any) -> Any:
        if self.model is None:
            return dict(row)
        # Typed columns already hold the field types: skip revalidation.
        return self.model.model_construct(**row)

    def query_items(self, query: Query, *, order: Order, limit: int | None) -> Iterator[Any]:
        stmt = sa.select(*self._columns).where(*self._where(query)).order_by(*self._order(order))
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._translate(), self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        return (self._item(row) for row in rows)

    def query_values(
        self, query: Query, fields: Sequence[str], *, order: Order, limit: int | None
    ) -> Iterator[tuple[Any, ...]]:
        """Only the wanted columns (a missing one reads as ``None``): no model per row."""
        cols = self.table.c
        selected = [cols[name] if name in cols else sa.null().label(name) for name in fields]
        stmt = sa.select(*selected).where(*self._where(query)).order_by(*self._order(order))
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._translate(), self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return iter(rows)

    def query_column(
        self, query: Query, field: str, *, order: Order, limit: int | None
    ) -> list[Any]:
        cols = self.table.c
        if field not in cols:
            return [None] * self.count(query) if limit is None else []
        stmt = sa.select(cols[field]).where(*self._where(query)).order_by(*self._order(order))
        if limit is not None:
            stmt = stmt.limit(limit)
        column = cols[field]
        raw = isinstance(column.type, sa.Float) and not column.type.asdecimal
        with self._translate(), self.engine.connect() as conn:
            result = conn.execute(stmt)
            if raw:
                # Plain floats need no result processing: read the driver's rows directly
                # (restoring a million timestamps: ~1.6 s less on the bench machine).
                return [row[0] for row in result.cursor.fetchall()]
            return list(result.scalars().all())

    def count(self, query: Query) -> int:
        stmt = sa.select(sa.func.count()).select_from(self.table).where(*self._where(query))
        with self._translate(), self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- changing -----------------------------------------------------------------------------

    def _coerce(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if self.model is None:
            return dict(values)
        coerced = {}
        for name, value in values.items():
            adapter = self._adapters.get(name)
            if adapter is None:
                annotation = self.model.model_fields[name].annotation
                adapter = self._adapters[name] = TypeAdapter(
                    annotation if annotation is not None else Any
                )
            coerced[name] = adapter.validate_python(value)
        return coerced

    def update_items(self, query: Query, values: Mapping[str, Any]) -> int:
        if not values:
            return 0
        stmt = sa.update(self.table).where(*self._where(query)).values(**self._coerce(values))
        with self._translate(), self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount)

    def delete_items(self, query: Query) -> int:
        stmt = sa.delete(self.table).where(*self._where(query))
        with self._translate(), self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount)
