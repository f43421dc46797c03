"""Task records as the command prints them, and reading them from a repo (SQL, SQLite, CSV)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from skylaunch.exc import RepoConfigError, RepoError, RepoSchemaError
from skylaunch.history import ACTIONS
from skylaunch.log import repos
from skylaunch.log._redact import redact_url
from skylaunch.log.query import greater_equal, in_
from skylaunch.log.records import (
    LogRecord,
    MinimalRecord,
    MinimalRunRecord,
    RunRecord,
    TaskLogRecord,
    TaskRunRecord,
)
from skylaunch.log.repos.base import field_getter
from skylaunch.log.repos.csv import CSVFileRepo

__all__ = [
    "COLUMNS",
    "DEFAULT_TABLE",
    "FOLLOW_WIDTHS",
    "CLIError",
    "Entry",
    "check_actions",
    "entry_of",
    "first_line",
    "open_repo",
    "read_entries",
    "text_of",
]
DEFAULT_TABLE = "task_log"
"""The table name docs/persistence.md uses; ``--table`` picks another."""

# Richest first: the first model whose fields a table has is the one it is read through.
_MODELS: tuple[type[BaseModel], ...] = (
    TaskRunRecord,
    RunRecord,
    TaskLogRecord,
    LogRecord,
    MinimalRunRecord,
    MinimalRecord,
)
_REQUIRED = tuple(MinimalRecord.model_fields)
_SQLITE_MAGIC = b"SQLite format 3\x00"
_DURATION = TypeAdapter(timedelta)
COLUMNS = ("time", "task", "action", "run_id", "runtime", "error")
# Column widths of --follow tables (rows are printed as they come, so they cannot be measured).
FOLLOW_WIDTHS = (25, 20, 9, 32, 9)


class CLIError(Exception):
    """A user mistake: printed as one line on stderr, exit code 2."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One task record as the command prints it, whatever store it came from."""

    created: float
    task: str | None
    action: str | None
    run_id: str | None
    runtime_s: float | None
    exc_text: str | None
    message: str | None = None

    @property
    def detail(self) -> str:
        """The error line of ``exc_text`` (else a user line's message), for one-line tables.

        The first line of a traceback is always "Traceback (most recent call last):"; the line
        that says what went wrong is the first unindented one after the frames.
        """
        text = self.exc_text or ("" if self.action else self.message) or ""
        lines = [line for line in text.splitlines() if line.strip()]
        starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (")]
        if starts:
            # The last exception of a (chained) traceback: its first unindented line.
            for line in lines[starts[-1] + 1 :]:
                if not line[0].isspace():
                    return line.strip()
        return lines[0].strip() if lines else ""


# -- reading a repo -----------------------------------------------------------------------------


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _sqlite_path(url: str) -> str | None:
    """The file a ``sqlite://`` URL names ('' for an in-memory database); None for other URLs."""
    scheme, _, rest = url.partition("://")
    if scheme.split("+", 1)[0] != "sqlite":
        return None
    path = rest.split("?", 1)[0]
    return path.removeprefix("/")


def open_repo(spec: str, table: str | None) -> tuple[Any, bool]:
    """The repo ``--repo`` names and whether it is SQL or Redis (filters are pushed down)."""
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return _open_redis(spec, table or "skylaunch"), True
    if "://" in spec:
        return _open_sql(spec, table or DEFAULT_TABLE), True
    path = Path(spec)
    if not path.is_file():
        raise CLIError(f"--repo: no such file {spec!r} (give a .csv file, a SQLite file or a URL)")
    with path.open("rb") as handle:
        magic = handle.read(len(_SQLITE_MAGIC))
    if magic == _SQLITE_MAGIC:
        return _open_sql(f"sqlite:///{path.resolve()}", table or DEFAULT_TABLE, shown=spec), True
    if table is not None:
        raise CLIError(f"--table applies to SQL repos; {spec!r} is read as a CSV file")
    return _open_csv(path), False


def _open_sql(url: str, table: str, *, shown: str | None = None) -> Any:
    shown = shown or redact_url(url)
    file = _sqlite_path(url)
    if file is not None:
        # SQLite would create a missing file and then report a missing table: say what is wrong.
        if file in ("", ":memory:"):
            raise CLIError(f"--repo {shown}: an in-memory database has no history to show")
        if not Path(file).is_file():
            raise CLIError(f"--repo {shown}: no such SQLite file {file!r}")
    try:
        reflected = repos.SQLRepo(table=table, conn_string=url)
    except RepoConfigError as exc:
        raise CLIError(f"--repo {shown}: {exc.problem}: {exc.detail}") from None
    except RepoSchemaError as exc:
        if "does not exist" in str(exc):
            raise CLIError(
                f"--repo {shown}: no table {table!r} (choose one with --table)"
            ) from None
        raise CLIError(f"--repo {shown}: {first_line(exc)}") from None
    except ModuleNotFoundError as exc:
        hint = " (pip install 'skylaunch[postgres]')" if "psycopg" in str(exc.name) else ""
        raise CLIError(
            f"--repo {shown}: the database driver {exc.name!r} is missing{hint}"
        ) from None
    except Exception as exc:
        raise CLIError(f"--repo {shown}: cannot open: {first_line(exc)}") from None
    columns = set(reflected.fields)
    for model in _MODELS:
        if columns >= set(model.model_fields):
            return repos.SQLRepo(model, table=table, engine=reflected.engine)
    reflected.close()
    missing = [name for name in _REQUIRED if name not in columns]
    raise CLIError(
        f"--repo {shown}: table {table!r} is not a task log (it lacks the columns "
        f"{', '.join(missing)})"
    )


def _open_redis(url: str, key_prefix: str) -> Any:
    try:
        from skylaunch.log.repos.redis import RedisRepo

        return RedisRepo(url, TaskRunRecord, key_prefix=key_prefix)
    except ImportError:
        raise CLIError(
            f"--repo {redact_url(url)}: needs the 'redis' package (pip install 'skylaunch[redis]')"
        ) from None
    except ValueError as exc:
        raise CLIError(f"--repo {redact_url(url)}: {first_line(exc)}") from None


def _open_csv(path: Path) -> CSVFileRepo:
    try:
        repo = CSVFileRepo(path)
    except RepoSchemaError as exc:
        if path.stat().st_size == 0:
            raise CLIError(f"--repo {str(path)!r}: the file is empty (no CSV header)") from None
        raise CLIError(f"--repo {str(path)!r}: {first_line(exc)}") from None
    except (OSError, RepoError) as exc:
        raise CLIError(f"--repo {str(path)!r}: cannot read: {first_line(exc)}") from None
    missing = [name for name in _REQUIRED if name not in repo.fieldnames]
    if missing:
        raise CLIError(
            f"--repo {str(path)!r}: not a task log CSV (its header lacks {', '.join(missing)})"
        )
    return repo


def _seconds(value: Any, field: str) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CLIError(f"a record has {field}={value!r}, which is not a timestamp") from None


def _runtime_s(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return _DURATION.validate_python(value).total_seconds()
    except ValidationError:
        return None  # an unreadable runtime is not worth refusing the whole history for


def text_of(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def entry_of(item: Any) -> Entry:
    """An :class:`Entry` from a repo item (a model instance or a dict of strings)."""
    get = field_getter(item)
    return Entry(
        created=_seconds(get("created"), "created"),
        task=text_of(get("task_name")),
        action=text_of(get("action")),
        run_id=text_of(get("run_id")),
        runtime_s=_runtime_s(get("runtime")),
        exc_text=text_of(get("exc_text")),
        message=text_of(get("message")),
    )


def read_entries(
    repo: Any,
    *,
    sql: bool,
    tasks: Sequence[str] = (),
    actions: Sequence[str] = (),
    since: float | None = None,
    limit: int | None = None,
) -> list[Entry]:
    """Matching records, oldest first; ``limit`` keeps the newest ones."""
    query: dict[str, Any] = {}
    if tasks:
        query["task_name"] = in_(tasks)
    if actions:
        query["action"] = in_(actions)
    if sql:
        # The store sorts and cuts: the newest N of a million rows is one index scan.
        if since is not None:
            query["created"] = greater_equal(since)
        items = list(repo.query_items(repo.parse_query(query), order="-created", limit=limit))
        items.reverse()
        return [entry_of(item) for item in items]
    # A CSV file is read whole anyway; its values are strings, so time is compared here.
    found = [entry_of(item) for item in repo.filter_by(**query).all()]
    if since is not None:
        found = [entry for entry in found if entry.created >= since]
    return found[-limit:] if limit is not None else found


def check_actions(values: Sequence[str]) -> list[str]:
    for value in values:
        if value not in ACTIONS:
            raise CLIError(f"--action: got {value!r}; expected one of {', '.join(ACTIONS)}")
    return list(dict.fromkeys(values))
