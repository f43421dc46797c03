"""The ``skylaunch`` command: what did my tasks do, and what are they doing now?

``skylaunch logs --repo ...`` prints task records from the log repo a scheduler writes (a SQLite
file or URL, PostgreSQL, a CSV file); ``skylaunch logs --follow`` prints the live feed a
:class:`~skylaunch.log.outputs.redis.RedisStreamHandler` writes. See docs/cli.md.

User mistakes (a repo that does not open, a missing table, an unknown action, a bad ``--since``)
end with exit code 2 and one line on stderr, never a traceback: people type these commands, and
scripts check the exit code. SQLAlchemy loads only for SQL repos and redis only for ``--follow``,
so ``skylaunch logs --help`` and CSV reads start fast.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, TypeAdapter, ValidationError

from skylaunch.exc import RepoSchemaError
from skylaunch.history import ACTIONS
from skylaunch.log import repos
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
from skylaunch.time.clock import Clock, SystemClock
from skylaunch.time.parse import to_timedelta

__all__ = ["DEFAULT_TABLE", "CLIError", "Entry", "main", "parse_since"]

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
_COLUMNS = ("time", "task", "action", "run_id", "runtime", "error")
# Column widths of --follow tables (rows are printed as they come, so they cannot be measured).
_FOLLOW_WIDTHS = (25, 20, 9, 32, 9)


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


# -- arguments ----------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CLIError(f"{message} (see '{self.prog} --help')")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="skylaunch", description="Tools for skylaunch schedulers.", allow_abbrev=False
    )
    parser.add_argument("--version", action="version", version=f"skylaunch {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    logs = commands.add_parser(
        "logs",
        help="print task records from a log repo, or follow the live Redis feed",
        description=(
            "Print task records from a log repo (--repo), newest last, or follow the live feed "
            "of a RedisStreamHandler (--follow)."
        ),
        allow_abbrev=False,
    )
    source = logs.add_argument_group("where to read")
    source.add_argument(
        "--repo",
        metavar="URL_OR_FILE",
        help="sqlite:///app.db, postgresql://user@host/db, a SQLite file or a .csv file",
    )
    source.add_argument(
        "--table", help=f"table of a SQL repo (default: {DEFAULT_TABLE})", default=None
    )
    source.add_argument(
        "--follow", action="store_true", help="print records from Redis as they come"
    )
    source.add_argument(
        "--redis",
        metavar="URL",
        default="redis://127.0.0.1:6379/0",
        help="Redis of --follow (default: %(default)s)",
    )
    source.add_argument(
        "--prefix", default="skylaunch", help="channel_prefix of the handler (default: skylaunch)"
    )
    source.add_argument(
        "--global-channel",
        default="global",
        help="global_channel of the handler (default: global)",
    )
    source.add_argument(
        "--from-start",
        action="store_true",
        help="with --follow: print what the stream still holds first",
    )
    source.add_argument("--count", type=_positive_int, help="with --follow: stop after N records")
    which = logs.add_argument_group("which records")
    which.add_argument(
        "--task", action="append", default=[], metavar="NAME", help="only this task (repeatable)"
    )
    which.add_argument(
        "--action",
        action="append",
        default=[],
        metavar="ACTION",
        help=f"only this action (repeatable): {', '.join(ACTIONS)}",
    )
    which.add_argument(
        "--since",
        metavar="WHEN",
        help="an instant ('2024-01-01 10:00') or a duration back from now ('2 hours')",
    )
    which.add_argument(
        "--limit", type=_positive_int, help="only the newest N (printed oldest first)"
    )
    show = logs.add_argument_group("how to print")
    show.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="default: table"
    )
    show.add_argument("--tz", help="time zone of the times (default: the local zone)")
    return parser


def _version() -> str:
    try:
        return metadata.version("skylaunch")
    except metadata.PackageNotFoundError:
        return "unknown"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected an integer >= 1")
    return value


def _zone(name: str | None) -> tzinfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CLIError(
            f"--tz: unknown time zone {name!r} (IANA names such as 'Europe/Helsinki')"
        ) from None


def _actions(values: Sequence[str]) -> list[str]:
    for value in values:
        if value not in ACTIONS:
            raise CLIError(f"--action: got {value!r}; expected one of {', '.join(ACTIONS)}")
    return list(dict.fromkeys(values))


def parse_since(text: str, *, now: datetime, tz: tzinfo | None) -> float:
    """``--since`` as POSIX seconds: an instant (naive: in ``tz``, else local) or ``now - duration``.

    A bare clock time such as ``10:00`` is refused: it reads as a duration (ten hours) to the
    duration parser and as "today at ten" to people.
    """
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        pass
    else:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz) if tz is not None else moment.astimezone()
        return moment.timestamp()
    expected = "expected an instant such as '2024-01-01 10:00' or a duration such as '2 hours'"
    if ":" in value:
        raise CLIError(f"--since: got {text!r}; {expected} (a bare clock time is ambiguous)")
    try:
        delta = to_timedelta(value)
    except ValueError:
        raise CLIError(f"--since: got {text!r}; {expected}") from None
    return now.timestamp() - delta.total_seconds()


# -- reading a repo -----------------------------------------------------------------------------


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if sep and at and ":" in credentials:
        rest = f"{credentials.split(':', 1)[0]}:***@{host}"
    return scheme + sep + rest


def _first_line(exc: BaseException) -> str:
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
    """The repo ``--repo`` names and whether it is SQL (filters are pushed down to SQL)."""
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
    shown = shown or _safe_url(url)
    file = _sqlite_path(url)
    if file is not None:
        # SQLite would create a missing file and then report a missing table: say what is wrong.
        if file in ("", ":memory:"):
            raise CLIError(f"--repo {shown}: an in-memory database has no history to show")
        if not Path(file).is_file():
            raise CLIError(f"--repo {shown}: no such SQLite file {file!r}")
    try:
        reflected = repos.SQLRepo(table=table, conn_string=url)
    except RepoSchemaError as exc:
        if "does not exist" in str(exc):
            raise CLIError(
                f"--repo {shown}: no table {table!r} (choose one with --table)"
            ) from None
        raise CLIError(f"--repo {shown}: {_first_line(exc)}") from None
    except ModuleNotFoundError as exc:
        hint = " (pip install 'skylaunch[postgres]')" if "psycopg" in str(exc.name) else ""
        raise CLIError(
            f"--repo {shown}: the database driver {exc.name!r} is missing{hint}"
        ) from None
    except Exception as exc:
        raise CLIError(f"--repo {shown}: cannot open: {_first_line(exc)}") from None
    columns = set(reflected.fields)
    for model in _MODELS:
        if columns >= set(model.model_fields):
            return repos.SQLRepo(model, table=table, engine=reflected.engine)
    missing = [name for name in _REQUIRED if name not in columns]
    raise CLIError(
        f"--repo {shown}: table {table!r} is not a task log (it lacks the columns "
        f"{', '.join(missing)})"
    )


def _open_csv(path: Path) -> CSVFileRepo:
    try:
        repo = CSVFileRepo(path)
    except RepoSchemaError:
        raise CLIError(f"--repo {str(path)!r}: the file is empty (no CSV header)") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CLIError(f"--repo {str(path)!r}: cannot read: {_first_line(exc)}") from None
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


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def entry_of(item: Any) -> Entry:
    """An :class:`Entry` from a repo item (a model instance or a dict of strings)."""
    get = field_getter(item)
    return Entry(
        created=_seconds(get("created"), "created"),
        task=_text(get("task_name")),
        action=_text(get("action")),
        run_id=_text(get("run_id")),
        runtime_s=_runtime_s(get("runtime")),
        exc_text=_text(get("exc_text")),
        message=_text(get("message")),
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


# -- printing -----------------------------------------------------------------------------------


def _time(created: float, tz: tzinfo | None, timespec: str) -> str:
    moment = datetime.fromtimestamp(created, timezone.utc).astimezone(tz)
    return moment.isoformat(timespec=timespec)


def _runtime_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.3f}s"
    return str(timedelta(seconds=round(seconds)))


def _cells(entry: Entry, tz: tzinfo | None) -> tuple[str, ...]:
    return (
        _time(entry.created, tz, "seconds"),
        entry.task or "-",
        entry.action or "-",
        entry.run_id or "-",
        _runtime_text(entry.runtime_s),
        entry.detail,
    )


def _document(entry: Entry, tz: tzinfo | None) -> dict[str, Any]:
    return {
        "time": _time(entry.created, tz, "auto"),
        "task": entry.task,
        "action": entry.action,
        "run_id": entry.run_id,
        "runtime_s": entry.runtime_s,
        "exc_text": entry.exc_text,
        "message": entry.message,
    }


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
    return "  ".join([*padded, *cells[len(widths) :]]).rstrip()


class _Printer:
    """Writes entries in one format; tables are measured when all rows are known up front."""

    def __init__(self, out: TextIO, fmt: str, tz: tzinfo | None) -> None:
        self.out = out
        self.fmt = fmt
        self.tz = tz
        self._csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        self._started = False

    def all(self, entries: Iterable[Entry]) -> None:
        if self.fmt != "table":
            for entry in entries:
                self.one(entry)
            return
        rows = [_cells(entry, self.tz) for entry in entries]
        headers = tuple(name.upper() for name in _COLUMNS)
        widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(_COLUMNS) - 1)]
        for row in [headers, *rows]:
            self.out.write(_line(row, widths) + "\n")

    def one(self, entry: Entry) -> None:
        if self.fmt == "json":
            self.out.write(json.dumps(_document(entry, self.tz)) + "\n")
            return
        if self._csv is not None:
            doc = _document(entry, self.tz)
            if not self._started:
                self._csv.writerow(list(doc))
            self._csv.writerow(["" if v is None else v for v in doc.values()])
        else:
            if not self._started:
                headers = tuple(name.upper() for name in _COLUMNS)
                self.out.write(_line(headers, _FOLLOW_WIDTHS) + "\n")
            self.out.write(_line(_cells(entry, self.tz), _FOLLOW_WIDTHS) + "\n")
        self._started = True


# -- following Redis ----------------------------------------------------------------------------


def _entry_of_payload(payload: str) -> Entry:
    doc = json.loads(payload)
    if not isinstance(doc, Mapping):
        raise TypeError("the record is not a JSON object")
    created = datetime.fromisoformat(str(doc["created"])).timestamp()
    runtime = doc.get("runtime_s")
    return Entry(
        created=created,
        task=_text(doc.get("task_name")),
        action=_text(doc.get("action")),
        run_id=_text(doc.get("run_id")),
        runtime_s=float(runtime) if isinstance(runtime, (int, float)) else None,
        exc_text=_text(doc.get("exc_text")),
        message=_text(doc.get("message")),
    )


def _start_ids(client: Any, keys: Sequence[str], from_start: bool) -> dict[str, str]:
    """Where to read each stream from: its start, or just after its newest entry.

    Resolving ``$`` to a concrete id once, here, means records that arrive between two reads
    are never skipped (a literal ``$`` on every XREAD would skip them).
    """
    ids: dict[str, str] = {}
    for key in keys:
        newest = [] if from_start else client.xrevrange(key, count=1)
        ids[key] = newest[0][0] if newest else "0-0"
    return ids


def follow(args: argparse.Namespace, out: TextIO, err: TextIO, tz: tzinfo | None) -> int:
    """Print the records of the Redis streams as they come, until ``--count`` or Ctrl-C."""
    try:
        import redis
    except ImportError:
        raise CLIError(
            "--follow needs the 'redis' package: pip install 'skylaunch[redis]'"
        ) from None
    shown = _safe_url(args.redis)
    try:
        client: Any = redis.Redis.from_url(args.redis, decode_responses=True)
    except ValueError as exc:
        raise CLIError(f"--redis {shown}: {_first_line(exc)}") from None
    keys = [f"{args.prefix}:task:{name}" for name in dict.fromkeys(args.task)]
    if not keys:
        keys = [f"{args.prefix}:{args.global_channel}"]
    actions = set(_actions(args.action))
    printer = _Printer(out, args.format, tz)
    printed = 0
    try:
        ids = _start_ids(client, keys, args.from_start)
        while args.count is None or printed < args.count:
            # Blocks server-side; a bounded block keeps Ctrl-C and a dead server noticed.
            reply = client.xread(ids, block=1000)
            for key, messages in reply or []:
                for message_id, fields in messages:
                    ids[key] = message_id
                    try:
                        entry = _entry_of_payload(fields["record"])
                    except (KeyError, TypeError, ValueError) as exc:
                        err.write(f"skylaunch logs: skipped record {message_id} of {key}: {exc}\n")
                        continue
                    if actions and entry.action not in actions:
                        continue
                    if args.count is not None and printed >= args.count:
                        break
                    printer.one(entry)
                    out.flush()
                    printed += 1
    except redis.ConnectionError as exc:
        raise CLIError(f"--redis {shown}: cannot reach Redis: {_first_line(exc)}") from None
    except redis.ResponseError as exc:
        raise CLIError(f"--redis {shown}: {_first_line(exc)}") from None
    except KeyboardInterrupt:
        return 130
    finally:
        client.close()
    return 0


# -- the command --------------------------------------------------------------------------------


def _logs(args: argparse.Namespace, out: TextIO, err: TextIO, clock: Clock) -> int:
    tz = _zone(args.tz)
    if args.follow:
        if args.repo is not None or args.table is not None:
            raise CLIError("--follow reads Redis; --repo and --table read a repo: pick one")
        if args.since is not None or args.limit is not None:
            raise CLIError(
                "--since and --limit read a repo; with --follow use --from-start/--count"
            )
        return follow(args, out, err, tz)
    if args.repo is None:
        raise CLIError("logs needs --repo URL_OR_FILE (or --follow for the live Redis feed)")
    if args.from_start or args.count is not None:
        raise CLIError("--from-start and --count go with --follow; use --since/--limit with --repo")
    actions = _actions(args.action)
    since = None if args.since is None else parse_since(args.since, now=clock.now(), tz=tz)
    repo, sql = open_repo(args.repo, args.table)
    try:
        entries = read_entries(
            repo,
            sql=sql,
            tasks=list(dict.fromkeys(args.task)),
            actions=actions,
            since=since,
            limit=args.limit,
        )
    except CLIError:
        raise
    except Exception as exc:
        raise CLIError(f"--repo {_safe_url(args.repo)}: cannot read: {_first_line(exc)}") from None
    finally:
        engine = getattr(repo, "engine", None)
        if engine is not None:
            engine.dispose()  # close the connections now, not at interpreter exit
    if not entries:
        err.write("skylaunch logs: no records match\n")
        return 0
    _Printer(out, args.format, tz).all(entries)
    return 0


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run the command; returns the exit code (the console script exits with it).

    ``clock`` is what "now" means for ``--since 2 hours`` (tests pass a simulated one).
    """
    out, err = sys.stdout, sys.stderr
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            _parser().print_help(err)
            return 2
        return _logs(args, out, err, clock if clock is not None else SystemClock())
    except CLIError as exc:
        err.write(f"skylaunch: error: {exc}\n")
        return 2
    except BrokenPipeError:
        # `skylaunch logs ... | head`: the reader left; quiet, as other command-line tools are.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        return 0
