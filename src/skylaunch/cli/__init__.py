"""The ``skylaunch`` command: what did my tasks do, and what are they doing now?

``skylaunch logs --repo ...`` prints task records from the log repo a scheduler writes (a SQLite
file or URL, PostgreSQL, a CSV file); ``skylaunch logs --follow`` prints the live feed a
:class:`~skylaunch.log.outputs.redis.RedisStreamHandler` writes. See docs/cli.md.

``skylaunch replicas --repo postgresql://...`` shows which replica of a coordinated app is
active (docs/deployment.md).

User mistakes (a repo that does not open, a missing table, an unknown action, a bad ``--since``)
end with exit code 2 and one line on stderr, never a traceback: people type these commands, and
scripts check the exit code. SQLAlchemy loads only for SQL repos and redis only for ``--follow``,
so ``skylaunch logs --help`` and CSV reads start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime, tzinfo
from importlib import metadata
from typing import NoReturn, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from skylaunch.cli import replicas
from skylaunch.cli.entries import (
    DEFAULT_TABLE,
    CLIError,
    Entry,
    check_actions,
    first_line,
    open_repo,
    read_entries,
)
from skylaunch.cli.operate import COMMANDS, add_commands, operate
from skylaunch.cli.output import Printer, follow
from skylaunch.history import ACTIONS
from skylaunch.log._redact import redact_text, redact_url
from skylaunch.time.clock import Clock, SystemClock
from skylaunch.time.parse import from_iso, to_timedelta

__all__ = ["DEFAULT_TABLE", "CLIError", "Entry", "main", "parse_since"]
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
        help="sqlite:///app.db, postgresql://user@host/db, redis://host/0, a SQLite file or a "
        ".csv file",
    )
    source.add_argument(
        "--table",
        help=f"table of a SQL repo (default: {DEFAULT_TABLE}), or key_prefix of a Redis repo "
        "(default: skylaunch)",
        default=None,
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
    replicas.add_parser(commands)
    add_commands(commands)
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


def parse_since(text: str, *, now: datetime, tz: tzinfo | None) -> float:
    """``--since`` as POSIX seconds: an instant (naive: in ``tz``, else local) or ``now - duration``.

    A bare clock time such as ``10:00`` is refused: it reads as a duration (ten hours) to the
    duration parser and as "today at ten" to people.
    """
    value = text.strip()
    try:
        moment = from_iso(value)
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
    actions = check_actions(args.action)
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
        raise CLIError(f"--repo {redact_url(args.repo)}: cannot read: {first_line(exc)}") from None
    finally:
        engine = getattr(repo, "engine", None)
        if engine is not None:
            engine.dispose()  # close the connections now, not at interpreter exit
        else:
            repo.close()
    if not entries:
        err.write("skylaunch logs: no records match\n")
        return 0
    Printer(out, args.format, tz).all(entries)
    return 0


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run the command; returns the exit code (the console script exits with it).

    ``clock`` is what "now" means for ``--since 2 hours`` (tests pass a simulated one).
    """
    out, err = sys.stdout, sys.stderr
    args: argparse.Namespace | None = None
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            _parser().print_help(err)
            return 2
        if args.command == "replicas":
            return replicas.replicas(args, out, _zone(args.tz))
        if args.command in COMMANDS:
            return operate(args, out)
        return _logs(args, out, err, clock if clock is not None else SystemClock())
    except CLIError as exc:
        # Whatever a driver's message echoed: no secret of the URLs given reaches the terminal.
        text = str(exc)
        for url in (getattr(args, "repo", None), getattr(args, "redis", None)):
            if isinstance(url, str):
                text = redact_text(text, url)
        err.write(f"skylaunch: error: {text}\n")
        return 2
    except BrokenPipeError:
        # `skylaunch logs ... | head`: the reader left; quiet, as other command-line tools are.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        return 0
