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
  :class:`~skylaunch.exc.RepoUnavailableError`, which writers retry. A database, role or
  host that does not exist, or a refused password: :class:`~skylaunch.exc.RepoConfigError`,
  never retried.
* Engines made from a URL get bounded waits (connect, statement, lock, dead socket), so no
  call can hang for good on an unreachable server; an engine given by the user is used as
  it is.
* The table and its indexes are created with ``IF NOT EXISTS``; another process creating
  them at the same moment is success, once the table is there.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
import types
import typing
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import singledispatch
from itertools import chain
from operator import itemgetter
from typing import Any, Literal, cast

import sqlalchemy as sa
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.sql.elements import ColumnElement

from skylaunch.exc import (
    RepoConfigError,
    RepoSchemaError,
    RepoSchemaWarning,
    RepoUnavailableError,
)
from skylaunch.log._redact import redact_text, redact_url
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
from skylaunch.log.records import TaskRunRecord
from skylaunch.log.repos.base import REQUIRED_FIELDS, BaseRepo, Order, trusted_fields_fill

__all__ = ["SQLRepo", "SQLTimeouts", "normalize_url"]

_UTC = timezone.utc

# SQLite reports schema mistakes as OperationalError too; those are not worth retrying.
_PERMANENT_MESSAGE = re.compile(r"no such (table|column)|has no column|syntax error", re.IGNORECASE)

# Connection failures that waiting will not fix: what the settings name does not exist or is
# refused (libpq's and psycopg's messages; the server's are in English unless lc_messages
# says otherwise). A name that does not resolve *for now* ("Temporary failure in name
# resolution") stays transient.
_CONFIG_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), problem)
    for pattern, problem in (
        (r'database "[^"]*" does not exist', "the database does not exist"),
        (r'role "[^"]*" does not exist', "the role (user) does not exist"),
        (r"password authentication failed", "the server refused the password"),
        (r"no password supplied", "the server wants a password and none was given"),
        (r"(peer|ident|sspi|gss|ldap|radius|cert) authentication failed", "authentication failed"),
        (r"no pg_hba\.conf entry", "the server's pg_hba.conf does not let this user in from here"),
        (r"permission denied for database", "the role may not connect to this database"),
        (r"failed to resolve host|could not translate host name", "the host name does not resolve"),
        (r"server does not support SSL", "the server does not support the SSL mode asked for"),
    )
)
# With if_unavailable="buffer", how long failing operations skip another set-up attempt.
_SETUP_RETRY_S = 1.0

_TEMPORARY_DNS = re.compile(r"temporary failure in name resolution|try again", re.IGNORECASE)


def _config_problem(message: str) -> str | None:
    """What is wrong with the settings, when ``message`` says the server refused them."""
    if _TEMPORARY_DNS.search(message):
        return None
    return next((problem for pattern, problem in _CONFIG_PROBLEMS if pattern.search(message)), None)


@dataclass(frozen=True)
class SQLTimeouts:
    """How long an engine made from a URL waits, in seconds; ``None`` waits as the driver does.

    * ``connect_s`` (10): to open a connection (PostgreSQL ``connect_timeout``, whole seconds,
      at least 2, per address the host name resolves to). Bounds start-up against a server
      that does not answer.
    * ``statement_s`` (30): for one statement (PostgreSQL ``statement_timeout``).
    * ``lock_s`` (10): for a lock (PostgreSQL ``lock_timeout``; SQLite's busy ``timeout``).
    * ``socket_s`` (30): before a silent connection counts as dead (PostgreSQL TCP keepalives
      and ``tcp_user_timeout``).

    A key the URL sets itself (``?connect_timeout=3``, ``?options=-c statement_timeout=0``,
    SQLite's ``?timeout=``) wins over these.
    """

    connect_s: float | None = 10.0
    statement_s: float | None = 30.0
    lock_s: float | None = 10.0
    socket_s: float | None = 30.0

    def __post_init__(self) -> None:
        for name in ("connect_s", "statement_s", "lock_s", "socket_s"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"SQLTimeouts {name}: got {value!r}; expected seconds > 0 or None")
            if not math.isfinite(value):
                raise ValueError(f"SQLTimeouts {name}: got {value!r}; use None for no limit")


#: How long set-up retries a SQLite file locked by another process creating the table, and how
#: often (SQLRepo._setup; with conn_string= the wait is SQLTimeouts.lock_s).
_SQLITE_SETUP_WAIT_S = 10.0
_SQLITE_SETUP_RETRY_S = 0.02
#: From this many rows a batch is inserted through the driver (see SQLRepo._bulk_insert).
_BULK_FROM = 2
#: SQLSTATEs of a COPY PostgreSQL does not do on a table that takes INSERTs: feature not
#: supported (row-level security), wrong object type (a view with INSTEAD OF triggers).
_NO_COPY = frozenset({"0A000", "42809"})
#: ... in chunks of this many rows, with a pause of _HAND_OFF_S between them (_let_others_run).
_CHUNK_ROWS = 250
_HAND_OFF_S = 0.00002
#: Bound parameters one SQLite statement may have (999 before SQLite 3.32; more since).
_SQLITE_MAX_VARIABLES = 999


def _let_others_run() -> None:
    """Step off the GIL between chunks of a batch, long enough for a waiting thread to take it.

    A driver's batch releases and retakes the GIL around every statement or network wait,
    which keeps CPython's switch request from ever firing: the scheduler's loop, waiting for
    the GIL on another thread, stalled for the whole batch (bench W6: 30-60 ms at 5,000 rows).
    """
    time.sleep(_HAND_OFF_S)  # noqa: TID251 - real time off the GIL, not a session's clock


def _driver_error(conn: Connection, statement: str, exc: Exception) -> sa_exc.StatementError:
    """``exc``, which the driver raised for ``statement`` run on ``conn``'s connection past
    SQLAlchemy, as SQLAlchemy would have raised it (what :meth:`SQLRepo._translate` sorts);
    a lost connection is invalidated first, so the pool does not hand it out again."""
    dialect = conn.dialect
    lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)  # type: ignore[arg-type]
    if lost:
        conn.invalidate(exc)
    return sa_exc.DBAPIError.instance(
        statement,
        None,
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=dialect,
    )


class _BulkPlan:
    """What inserting a batch that fills ``keys`` of ``table`` needs, made once (see
    :meth:`SQLRepo._bulk_insert`): made again per batch, the compiled statement and the bind
    processors were hundreds of objects alive while the driver had let the GIL go, which the
    scheduler thread's young collections promoted to the oldest generation."""

    __slots__ = (
        "copy_sql",
        "dialect",
        "order",
        "processors",
        "rows_sql",
        "statement",
        "table",
        "texts",
    )

    def __init__(self, table: sa.Table, dialect: Dialect, keys: tuple[str, ...]) -> None:
        self.table, self.dialect = table, dialect
        columns = [table.c[key] for key in keys]
        #: (position, bind processor, whether it takes None too) of the columns that have one
        self.processors: list[tuple[int, Callable[[Any], Any], bool]] = []
        for i, column in enumerate(columns):
            process = column.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.processors.append((i, process, column.type.should_evaluate_none))
        quote = dialect.identifier_preparer.quote
        self.copy_sql = (
            f"COPY {dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(key) for key in keys)}) FROM STDIN"
        )
        compiled = table.insert().compile(dialect=dialect, column_keys=list(keys))
        self.statement = str(compiled)
        #: the row's values in the statement's order (None: the statement takes a dict)
        self.order: list[int] | None = None
        if compiled.positional:
            self.order = [keys.index(name) for name in compiled.positiontup or ()]
        #: SQLite, many rows per statement: the statement's head and one row's placeholders
        #: (None: a statement per row), and the statements' texts by rows, as made
        self.rows_sql: tuple[str, str] | None = None
        self.texts: dict[int, str] = {}
        head, values_sql, tail = self.statement.rpartition(" VALUES ")
        if (
            dialect.name == "sqlite"
            and self.order is not None
            and values_sql
            and tail == "(" + ", ".join(["?"] * len(self.order)) + ")"
        ):
            self.rows_sql = (head, tail)


class _AwareDateTime(sa.TypeDecorator[datetime]):
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


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _postgres_args(query: Mapping[str, Any], timeouts: SQLTimeouts) -> dict[str, Any]:
    """psycopg connection arguments for ``timeouts``; keys the URL's query sets are left alone."""
    args: dict[str, Any] = {}
    if timeouts.connect_s is not None:
        args["connect_timeout"] = max(2, math.ceil(timeouts.connect_s))
    if timeouts.socket_s is not None:
        seconds = timeouts.socket_s
        # A silent peer is probed after half the time, then three times: dead after ~socket_s.
        args["keepalives"] = 1
        args["keepalives_idle"] = max(1, math.ceil(seconds / 2))
        args["keepalives_interval"] = max(1, math.ceil(seconds / 6))
        args["keepalives_count"] = 3
        args["tcp_user_timeout"] = _ms(seconds)  # unacknowledged data: the network is gone
    args = {key: value for key, value in args.items() if key not in query}
    given = query.get("options", "")
    given = given if isinstance(given, str) else " ".join(given)
    settings = [
        f"-c {name}={_ms(value)}"
        for name, value in (
            ("statement_timeout", timeouts.statement_s),
            ("lock_timeout", timeouts.lock_s),
        )
        if value is not None and name not in given
    ]
    if settings:
        args["options"] = " ".join([given, *settings]).strip()
    return args


def _engine_from_url(url: str, timeouts: SQLTimeouts) -> Engine:
    url = normalize_url(url)
    try:
        parsed = sa.make_url(url)
    except (ValueError, sa_exc.ArgumentError) as exc:
        # The parser's message may quote the URL: say what is wrong without its secrets.
        raise ValueError(
            f"SQLRepo conn_string {redact_url(url)!r} is not a valid URL: "
            f"{redact_text(str(exc), url)}"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        # One shared connection, or every thread (the handler's retry timer) sees its own
        # empty in-memory database.
        return sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    connect_args: dict[str, Any] = {}
    if backend == "postgresql" and parsed.get_driver_name() == "psycopg":
        connect_args = _postgres_args(parsed.query, timeouts)
    elif backend == "sqlite" and timeouts.lock_s is not None and "timeout" not in parsed.query:
        connect_args = {"timeout": timeouts.lock_s}  # wait this long for a locked file
    engine = sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
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


def _sqlite_file(url: sa.URL) -> str | None:
    """The absolute path of the SQLite database file ``url`` names; None for any other
    database, an in-memory one, or a ``file:`` URI."""
    database = url.database
    if url.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    return os.path.abspath(database)


def _file_identity(path: str) -> tuple[int, int] | None:
    """The file ``path`` names, as (device, inode); None when there is none. Raises
    ``OSError`` when it cannot be looked at (a folder on the way made unreadable)."""
    try:
        stat = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return stat.st_dev, stat.st_ino


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
        return _AwareDateTime()
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


def _plain(column: Any) -> bool:
    """Whether the driver returns the column's values as they are read (no result processing):
    a float or a string (an enum, a decimal or a date has a processor)."""
    kind = column.type
    if isinstance(kind, sa.Float):
        return not kind.asdecimal
    return isinstance(kind, sa.String) and not isinstance(kind, sa.Enum)


class SQLRepo(BaseRepo[Any]):
    """Records as rows of one SQL table.

    Give ``engine`` (a SQLAlchemy engine) or ``conn_string`` (a URL; ``postgresql://`` uses
    psycopg 3). ``if_missing="create"`` creates the table and its indexes. An existing table
    needs the columns task records are read by (``task_name``, ``action``, ``created``), or
    :class:`~skylaunch.exc.RepoSchemaError` is raised here; the model's other fields without
    a column are not stored, which a :class:`~skylaunch.exc.RepoSchemaWarning` says once,
    here. ``model=None`` reads the table's columns and returns dicts.

    ``timeouts`` bounds the waits of an engine made from ``conn_string`` (see
    :class:`SQLTimeouts`; the defaults apply when it is not given). The database is reached
    here: an unreachable server raises :class:`~skylaunch.exc.RepoUnavailableError` within
    ``timeouts.connect_s``, settings that name a missing database, role or host raise
    :class:`~skylaunch.exc.RepoConfigError` at once. ``if_unavailable="buffer"`` (with a
    model) builds the repo anyway: every operation raises ``RepoUnavailableError`` (which
    the handler buffers and retries) until the database answers and the table is checked
    or created.

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
        timeouts: SQLTimeouts | None = None,
        if_unavailable: Literal["raise", "buffer"] = "raise",
        permissions: int | None = 0o600,
    ) -> None:
        super().__init__(model, id_field)
        if if_missing not in ("raise", "create"):
            raise ValueError(f"if_missing must be 'raise' or 'create'; got {if_missing!r}")
        if if_unavailable not in ("raise", "buffer"):
            raise ValueError(f"if_unavailable must be 'raise' or 'buffer'; got {if_unavailable!r}")
        if if_unavailable == "buffer" and self.model is None:
            raise ValueError(
                "if_unavailable='buffer' needs a model: without one the columns can only be "
                "read from the database"
            )
        if (engine is None) == (conn_string is None):
            raise TypeError("SQLRepo needs exactly one of engine= or conn_string=")
        if timeouts is not None and engine is not None:
            raise TypeError(
                "SQLRepo timeouts= applies to conn_string=; set up your engine yourself"
            )
        self.timeouts: SQLTimeouts | None = None
        """The waits of an engine made from ``conn_string``; ``None`` for a given engine."""
        self.permissions = check_permissions(permissions)
        if engine is None:
            self.timeouts = timeouts if timeouts is not None else SQLTimeouts()
            engine = _engine_from_url(conn_string or "", self.timeouts)
            # a forgotten close() must not leave connections for the garbage collector
            weakref.finalize(self, _dispose, engine, os.getpid())
        self.engine: Engine = engine
        database = engine.url.database
        self.thread_bound = (
            engine.dialect.name == "sqlite"
            and database in (None, "", ":memory:")
            and not isinstance(engine.pool, StaticPool)
        )
        """Whether only the creating thread sees the data: an in-memory SQLite engine you built
        with SQLAlchemy's default pool gives each thread its own empty database (Rocketry's
        handbook's ``create_engine('sqlite://')``). A :class:`~skylaunch.log.RepoHandler`
        then writes on the caller's thread instead of its background one."""
        self.table_name = table
        self.schema = schema
        # Lifecycle records go in as plain field dicts when the model takes them whole; a
        # repo without a model has the database's columns, which such a dict may not fill.
        # Only a model with no fields beyond a lifecycle record's: the rows are built from
        # the dict, so extra fields would miss their defaults and validators.
        self.takes_trusted = (
            self.model is not None
            and trusted_fields_fill(self.model)
            and set(self.model.model_fields) <= set(TaskRunRecord.model_fields)
            and type(self).insert_items is SQLRepo.insert_items
        )
        self._copy_works = True  # until PostgreSQL refuses COPY on the table (a view, RLS)
        self._bulk_plans: dict[tuple[str, ...], _BulkPlan] = {}  # by the columns a batch fills
        self.write_guard: Callable[[Connection], None] | None = None
        """Called first in the transaction of every insert; raising refuses the write
        (:class:`~skylaunch.coordination.Coordination` fences records with it)."""
        self._if_missing = if_missing
        self._names: frozenset[str] = frozenset()
        self._names_of: sa.Table | None = None
        self._adapters: dict[str, TypeAdapter[Any]] = {}
        self._unstored: frozenset[str] = frozenset()  # model fields the table has no column for
        self._unstored_reported = False
        self._ready = False
        self._setup_lock = threading.Lock()
        # SELECTs by shape (see _select): a restore asks the same few thousands of times
        self._selects: dict[tuple[Any, ...], Any] = {}
        self._setup_error: RepoUnavailableError | None = None
        self._next_setup = 0.0
        # An SQLite database file: deleted or replaced (renamed over) while the pool's
        # connections hold it open, SQLite goes on writing into the old file, unseen by
        # anyone and gone at the next start. Each write first checks that the path still
        # names the file set-up found (_check_file).
        self._file = _sqlite_file(self.engine.url)
        self._file_id: tuple[int, int] | None = None
        try:
            self._setup()
        except RepoUnavailableError as exc:
            if if_unavailable == "raise":
                self._dispose_own_engine()
                raise
            # Start anyway: writes fail as "unavailable" (the handler buffers them) until
            # the database answers and the table is checked or created.
            self._setup_failed(exc)
            assert self.model is not None  # checked above
            self.table = self._from_model(self.model, {}, [])
            self._seq_column = self._find_seq_column()
            self._columns = [c for c in self.table.columns if c is not self._seq_column]
            self._selects.clear()
        except BaseException:
            self._dispose_own_engine()
            raise

    def _dispose_own_engine(self) -> None:
        if self.timeouts is not None:  # an engine made here: nobody else can close it
            self.engine.dispose()

    @property
    def ready(self) -> bool:
        """Whether the table has been found or created (``False`` only with ``if_unavailable="buffer"``
        while the database has not answered yet)."""
        return self._ready

    def _setup(self) -> None:
        _create_sqlite_file(self.engine.url, self.permissions)
        waited_until: float | None = None
        while True:
            try:
                if not self._build_table():
                    self._create_table()
                break
            except RepoUnavailableError as exc:
                # SQLite answers "database is locked" at once, without its busy timeout, to a
                # statement that read the schema and then writes while another connection
                # commits (WAL): several processes creating the table together. The other
                # one finishes within moments; look again until the lock wait runs out.
                if self.engine.dialect.name != "sqlite" or "database is locked" not in str(exc):
                    raise
                now = time.monotonic()
                if waited_until is None:
                    wait = self.timeouts.lock_s if self.timeouts is not None else None
                    waited_until = now + (wait if wait is not None else _SQLITE_SETUP_WAIT_S)
                if now >= waited_until:
                    raise
                time.sleep(_SQLITE_SETUP_RETRY_S)  # noqa: TID251 - another process's lock
        if self._file is not None:
            with suppress(OSError):  # None: the first write looks again
                self._file_id = _file_identity(self._file)
        self._ready = True

    def _setup_failed(self, exc: RepoUnavailableError) -> None:
        self._setup_error = exc
        self._next_setup = time.monotonic() + _SETUP_RETRY_S

    def _ensure_ready(self) -> None:
        """Finish a deferred set-up, or raise :class:`RepoUnavailableError` while it cannot.

        Attempts are at least ``_SETUP_RETRY_S`` apart, so restoring many tasks' history at
        start-up waits for one connection timeout, not one per task.
        """
        if self._ready:
            return
        with self._setup_lock:
            if self._ready:
                return
            if time.monotonic() < self._next_setup:
                raise RepoUnavailableError(
                    f"{redact_url(self.engine.url)} is still unavailable (table "
                    f"{self.table_name!r} not set up yet): {self._setup_error}"
                )
            try:
                self._setup()
            except RepoUnavailableError as exc:
                self._setup_failed(exc)
                raise

    def _build_table(self) -> bool:
        """Look at the database, build :attr:`table` from it and the model; whether it exists."""
        table, schema, if_missing = self.table_name, self.schema, self._if_missing
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
            missing = [n for n in self.model.model_fields if exists and n not in existing]
            lacking = [n for n in REQUIRED_FIELDS if n in missing]
            if lacking:
                raise RepoSchemaError(
                    f"table {table!r} lacks the column(s) {lacking} that task records need "
                    f"(it has {list(existing)})"
                )
            if missing and not self._unstored_reported:
                # Rocketry's handbook table (created, task_name, run_id, action) with a
                # LogRecord-like model: what the conditions read is there, the rest is not.
                warnings.warn(
                    f"table {table!r} has no column for the {self.model.__name__} field(s) "
                    f"{missing}: they are not stored (read back as missing); the table has "
                    f"{list(existing)}",
                    RepoSchemaWarning,
                    stacklevel=4,
                )
            self._unstored_reported = bool(missing)
            self._unstored = frozenset(missing)
            self.table = self._from_model(self.model, existing, primary)
        self._seq_column = self._find_seq_column()
        self._columns = [c for c in self.table.columns if c is not self._seq_column]
        self._selects.clear()
        return exists

    def _create_table(self) -> None:
        """Create the table and its indexes; losing a race to another process is success.

        ``IF NOT EXISTS`` settles the race on SQLite; PostgreSQL may still fail the loser
        (a unique violation on ``pg_type``, or "already exists"). Whatever the error, if the
        table is there afterwards it is checked as an existing table would be.
        """
        self.create_indexes()  # attaches them to the table; created with it below
        try:
            with self._translate(), self.engine.begin() as conn:
                conn.execute(CreateTable(self.table, if_not_exists=True))
                for index in self.table.indexes:
                    conn.execute(CreateIndex(index, if_not_exists=True))
        except (sa_exc.DBAPIError, RepoUnavailableError):
            with self._translate():
                there = sa.inspect(self.engine).has_table(self.table_name, schema=self.schema)
            if not there:
                raise
            self._build_table()
            self.create_indexes()

    def __repr__(self) -> str:
        model = None if self.model is None else self.model.__name__
        return (
            f"SQLRepo(table={self.table_name!r}, model={model}, url={redact_url(self.engine.url)})"
        )

    def close(self) -> None:
        """Dispose the engine if the repo built it (``conn_string=``); a given engine stays open."""
        self._dispose_own_engine()

    # -- schema -------------------------------------------------------------------------------

    @property
    def fields(self) -> tuple[str, ...]:
        """Queryable names: the model's fields plus the surrogate key (for ``get_by``)."""
        if self.model is None:
            return tuple(c.name for c in self.table.columns)
        seq = () if self._seq_column is None else (self._seq_column.name,)
        stored = (name for name in self.model.model_fields if name not in self._unstored)
        return (*stored, *seq)

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
            if name in self._unstored:
                continue
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
                kind = _AwareDateTime()
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
        with self._translate():
            there = sa.inspect(self.engine).has_table(self.table_name, schema=self.schema)
        if not there or not indexes:
            return
        try:
            with self._translate(), self.engine.begin() as conn:
                for index in indexes:
                    conn.execute(CreateIndex(index, if_not_exists=True))
        except (sa_exc.DBAPIError, RepoUnavailableError):
            # Another process may have made them at the same moment (PostgreSQL can fail the
            # loser of that race): fine if they are all there now.
            with self._translate():
                names = {
                    index["name"]
                    for index in sa.inspect(self.engine).get_indexes(
                        self.table_name, schema=self.schema
                    )
                }
            if not names >= {index.name for index in indexes}:
                raise

    # -- errors -------------------------------------------------------------------------------

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """Raise connection-level failures as :class:`RepoUnavailableError` (retryable), and
        settings the server refuses as :class:`RepoConfigError` (not retried)."""
        try:
            yield
        except sa_exc.DBAPIError as exc:
            url = self.engine.url
            message = redact_text(" ".join(str(exc.orig).split()), url)
            connection_level = isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
            problem = _config_problem(message) if connection_level else None
            if problem is not None:
                raise RepoConfigError(redact_url(url), problem, message) from exc
            transient = exc.connection_invalidated or (
                connection_level and not _PERMANENT_MESSAGE.search(message)
            )
            if transient:
                if "timeout expired" in message and self.timeouts is not None:
                    message += (
                        f" (no answer within SQLTimeouts.connect_s={self.timeouts.connect_s})"
                    )
                raise RepoUnavailableError(f"{redact_url(url)} is unavailable: {message}") from exc
            raise
        except sa_exc.TimeoutError as exc:  # pool exhausted
            raise RepoUnavailableError(
                f"no connection to {redact_url(self.engine.url)}: {exc}"
            ) from exc

    # -- writing ------------------------------------------------------------------------------

    def _column_names(self) -> frozenset[str]:
        """The column names of the table in use, as a set."""
        table = self.table
        if self._names_of is not table:
            self._names = frozenset(table.c.keys())
            self._names_of = table
        return self._names

    def _row(self, item: Any) -> dict[str, Any]:
        names = self._column_names()
        if isinstance(item, BaseModel):
            return {name: getattr(item, name) for name in type(item).model_fields if name in names}
        return {name: value for name, value in item.items() if name in names}

    def _rows(self, items: Sequence[Any]) -> tuple[tuple[str, ...], list[Sequence[Any]]]:
        """The columns a batch fills (every field any item has a column for, in the order
        they are first seen) and each item's values in that order (None where it has none).

        A batch of plain dicts with one set of keys (the scheduler's lifecycle records) is
        taken by one ``itemgetter`` per item, in C: the writer's thread holds the GIL a
        fraction of a microsecond per row instead of several (the scheduler's loop waits for
        the GIL while the writer holds it)."""
        first = items[0]
        if type(first) is dict:
            shape = first.keys()
            if all(type(item) is dict and item.keys() == shape for item in items):
                names = self._column_names()
                keys = tuple(key for key in first if key in names)
                if len(keys) > 1:
                    return keys, list(map(itemgetter(*keys), items))
                if keys:
                    return keys, [(item[keys[0]],) for item in items]
        rows = [self._row(item) for item in items]
        keys = tuple(dict.fromkeys(key for row in rows for key in row))
        return keys, [tuple([row.get(key) for key in keys]) for row in rows]

    def _check_file(self, path: str) -> None:
        """Raise :class:`RepoUnavailableError` (the writer keeps the records and retries) when
        ``path`` no longer names the SQLite file set-up found: the pool's connections are
        closed and the next attempt sets up again on whatever file the path names now."""
        try:
            if _file_identity(path) == self._file_id:
                return
        except OSError:
            return  # it cannot be looked at: SQLite's own errors say what is wrong
        with self._setup_lock:
            self._ready = False
            self._next_setup = 0.0
            self.engine.dispose()
        raise RepoUnavailableError(
            f"{redact_url(self.engine.url)}: the database file {path!r} was deleted or "
            "replaced while the repo was writing to it; the records are kept and written "
            "to the file the path names now, once its table is found or created"
        )

    def insert_items(self, items: Sequence[Any]) -> None:
        self._ensure_ready()
        if not items:
            return
        file = self._file
        if file is not None:
            self._check_file(file)
        keys, values = self._rows(items)
        with self._translate(), self.engine.begin() as conn:
            guard = self.write_guard
            if guard is not None:  # coordination: the database fences the write
                guard(conn)
            if len(values) < _BULK_FROM:
                conn.execute(
                    self.table.insert(), [dict(zip(keys, row, strict=True)) for row in values]
                )
            else:
                self._bulk_insert(conn, keys, values)
        if file is not None:
            # replaced during the write: the batch went into the old file, so it is written
            # again, into the new one
            self._check_file(file)

    def _bulk_insert(
        self, conn: Connection, keys: tuple[str, ...], values: list[Sequence[Any]]
    ) -> None:
        """Insert a batch through the driver, past SQLAlchemy's per-row work.

        What the statement path does per row (compile the parameters, run each column type's
        bind processor) is done here once per batch and column; PostgreSQL takes the rows by
        ``COPY``, the others by the driver's ``executemany``. A batch of lifecycle records
        (the scheduler's two per run) costs a few microseconds a row instead of ~25.
        """
        dialect = conn.dialect
        plan = self._bulk_plans.get(keys)
        if plan is None or plan.table is not self.table or plan.dialect is not dialect:
            plan = self._bulk_plans[keys] = _BulkPlan(self.table, dialect, keys)
        processors = plan.processors
        if processors:
            width = len(keys)
            if any(len(row_values) != width for row_values in values):
                raise ValueError(f"every row needs {width} values, one per column of {keys}")
            # Column by column without zip(*values): that holds an iterator per row while it
            # runs, thousands of tracked objects a batch that the loop's garbage collections,
            # running meanwhile on the scheduler's thread, promoted to the oldest generation
            # and so set off a full collection every few batches (bench W6: 9 instead of 1
            # in 3 s, ~14 ms each, the loop's longest stalls).
            by_column: list[Sequence[Any]] = [
                list(map(itemgetter(i), values)) for i in range(width)
            ]
            for i, process, evaluate_none in processors:
                # None too where the type stores it as a value (JSON's 'null'), as the
                # statement path does
                if evaluate_none:
                    by_column[i] = list(map(process, by_column[i]))
                else:
                    by_column[i] = [
                        None if value is None else process(value) for value in by_column[i]
                    ]
            values = list(zip(*by_column, strict=True))
        if dialect.name == "postgresql" and dialect.driver == "psycopg" and self._copy_works:
            sql = plan.copy_sql
            raw = conn.connection.driver_connection
            assert raw is not None  # a live connection inside begin()
            try:
                with raw.cursor() as cursor, cursor.copy(sql) as copy:
                    for n, row_values in enumerate(values, 1):
                        copy.write_row(row_values)
                        if n % _CHUNK_ROWS == 0:
                            _let_others_run()
            except dialect.loaded_dbapi.Error as exc:
                if getattr(exc, "sqlstate", None) in _NO_COPY:
                    # a view, or row-level security: this table takes INSERTs only; the
                    # writer retries the batch, which then goes in by executemany
                    self._copy_works = False
                    raise RepoUnavailableError(
                        f"COPY into {self.table_name!r} refused ({exc}); writing by INSERT"
                    ) from exc
                raise _driver_error(conn, sql, exc) from exc
            return
        order = plan.order
        params: list[Any]
        if order is None:
            params = [dict(zip(keys, row_values, strict=True)) for row_values in values]
        elif order == list(range(len(keys))):
            params = values
        elif len(order) > 1:
            params = list(map(itemgetter(*order), values))
        else:
            params = [tuple(row_values[i] for i in order) for row_values in values]
        if plan.rows_sql is not None and params and 0 < len(params[0]) <= _SQLITE_MAX_VARIABLES:
            self._sqlite_rows_per_statement(conn, plan, params)
            return
        for at in range(0, len(params), _CHUNK_ROWS):
            if at:
                _let_others_run()
            conn.exec_driver_sql(plan.statement, params[at : at + _CHUNK_ROWS])

    @staticmethod
    def _sqlite_rows_per_statement(conn: Connection, plan: _BulkPlan, params: list[Any]) -> None:
        """Insert ``params`` (one tuple per row) into SQLite by many rows per statement, on
        one cursor of the driver's, inside ``conn``'s transaction.

        Many rows per statement: sqlite3 releases the GIL around each step, so a statement
        per row hands it back and forth hundreds of times per chunk, and the thread waiting
        for it (the scheduler's loop) rarely wins it: it waited for the whole chunk. One step
        per chunk releases it once, for the whole chunk's insert, long enough for a waiting
        thread to take it (no pause needed between chunks).

        Straight on the driver's cursor, not by ``exec_driver_sql`` per chunk: that made a
        cursor (and sqlite3 a weak reference to it, kept until its 200th), an execution
        context, events and closures per statement, all alive while sqlite3 had let the GIL
        go, which is when the scheduler's thread runs and sets off its young collections:
        they promoted hundreds of those objects a second to the oldest generation, and a full
        collection of every object start-up made (~50,000) followed every few seconds (bench
        W6: the loop's longest stall). A batch's rows go in chunks of a fixed size and the
        rest by powers of two, so each table has at most a dozen statement texts, which
        sqlite3's statement cache keeps (a text per remainder made a statement a batch).
        """
        per = min(_CHUNK_ROWS, _SQLITE_MAX_VARIABLES // len(params[0]))
        head, row = cast("tuple[str, str]", plan.rows_sql)
        texts = plan.texts
        raw = conn.connection.driver_connection
        assert raw is not None  # a live connection inside begin()
        cursor = raw.cursor()
        sql = ""
        try:
            at, left = 0, len(params)
            while left:
                size = per if left >= per else 1 << (left.bit_length() - 1)
                sql = texts.get(size) or texts.setdefault(
                    size, f"{head} VALUES {', '.join([row] * size)}"
                )
                cursor.execute(sql, tuple(chain.from_iterable(params[at : at + size])))
                at += size
                left -= size
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _driver_error(conn, sql, exc) from exc
        finally:
            cursor.close()

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

    def _select(
        self, query: Query, fields: tuple[str, ...] | None, order: Order, limit: int | None
    ) -> tuple[Any, dict[str, Any]]:
        """The SELECT of ``fields`` (all columns: ``None``) for ``query``, and its parameters.

        A query of equalities with values (what restores and "last X" lookups ask, thousands
        of times at start-up) reuses one statement per shape with bound values: building and
        compiling SQL per task cost more than the index seek it runs.
        """
        cached = all(type(oper) is Equal and oper.value is not None for _, oper in query)
        key = (tuple(name for name, _ in query), fields, order, limit is None)
        stmt = self._selects.get(key) if cached else None
        if stmt is None:
            cols = self.table.c
            selected: list[Any]
            if fields is None:
                selected = list(self._columns)
            else:
                selected = [cols[n] if n in cols else sa.null().label(n) for n in fields]
            if cached:
                where = [cols[name] == sa.bindparam(f"w{i}") for i, (name, _) in enumerate(query)]
            else:
                where = self._where(query)
            stmt = sa.select(*selected).where(*where).order_by(*self._order(order))
            if limit is not None:
                stmt = stmt.limit(sa.bindparam("n") if cached else limit)
            if not cached:
                return stmt, {}
            self._selects[key] = stmt
        params: dict[str, Any] = {
            f"w{i}": cast("Equal", oper).value for i, (_, oper) in enumerate(query)
        }
        if limit is not None:
            params["n"] = limit
        return stmt, params

    def query_items(self, query: Query, *, order: Order, limit: int | None) -> Iterator[Any]:
        self._ensure_ready()
        stmt, params = self._select(query, None, order, limit)
        with self._translate(), self.engine.connect() as conn:
            rows = conn.execute(stmt, params).mappings().all()
        return (self._item(row) for row in rows)

    def query_values(
        self, query: Query, fields: Sequence[str], *, order: Order, limit: int | None
    ) -> Iterator[tuple[Any, ...]]:
        """Only the wanted columns (a missing one reads as ``None``): no model per row."""
        self._ensure_ready()
        stmt, params = self._select(query, tuple(fields), order, limit)
        cols = self.table.c
        raw = all(name not in cols or _plain(cols[name]) for name in fields)
        with self._translate(), self.engine.connect() as conn:
            result = conn.execute(stmt, params)
            # columns the driver already returns as Python values need no result processing
            # (restoring 1,000 tasks reads a million rows here)
            rows = result.cursor.fetchall() if raw else result.all()
        return iter(rows)

    def query_column(
        self, query: Query, field: str, *, order: Order, limit: int | None
    ) -> list[Any]:
        self._ensure_ready()
        cols = self.table.c
        if field not in cols:
            return [None] * self.count(query) if limit is None else []
        stmt, params = self._select(query, (field,), order, limit)
        with self._translate(), self.engine.connect() as conn:
            result = conn.execute(stmt, params)
            if _plain(cols[field]):
                # Plain floats need no result processing: read the driver's rows directly
                # (restoring a million timestamps: ~1.6 s less on the bench machine).
                return [row[0] for row in result.cursor.fetchall()]
            return list(result.scalars().all())

    def count(self, query: Query) -> int:
        self._ensure_ready()
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
        self._ensure_ready()
        if not values:
            return 0
        stmt = sa.update(self.table).where(*self._where(query)).values(**self._coerce(values))
        with self._translate(), self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount)

    def delete_items(self, query: Query) -> int:
        self._ensure_ready()
        stmt = sa.delete(self.table).where(*self._where(query))
        with self._translate(), self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount)
