"""Printing entries (table, JSON lines) and following the live Redis feed (``--follow``)."""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, TextIO

__all__ = ["Printer", "follow", "printable"]
from skylaunch.cli.entries import (
    COLUMNS,
    FOLLOW_WIDTHS,
    CLIError,
    Entry,
    check_actions,
    first_line,
    text_of,
)
from skylaunch.log._redact import redact_url
from skylaunch.time.parse import from_iso

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


def printable(text: str) -> str:
    """``text`` safe for a terminal: control and format characters as Python escapes.

    A task name, run id or message comes from whoever defined the task or wrote the log: an
    escape sequence in it must not move the cursor, recolour or retitle the user's terminal,
    and a newline must not forge a row. ``\x1b``, ``\n``, ``\u202e``... are shown as such.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


def _cells(entry: Entry, tz: tzinfo | None) -> tuple[str, ...]:
    return (
        _time(entry.created, tz, "seconds"),
        printable(entry.task or "-"),
        printable(entry.action or "-"),
        printable(entry.run_id or "-"),
        _runtime_text(entry.runtime_s),
        printable(entry.detail),
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


class Printer:
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
        headers = tuple(name.upper() for name in COLUMNS)
        widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(COLUMNS) - 1)]
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
                headers = tuple(name.upper() for name in COLUMNS)
                self.out.write(_line(headers, FOLLOW_WIDTHS) + "\n")
            self.out.write(_line(_cells(entry, self.tz), FOLLOW_WIDTHS) + "\n")
        self._started = True


# -- following Redis ----------------------------------------------------------------------------


def _entry_of_payload(payload: str) -> Entry:
    doc = json.loads(payload)
    if not isinstance(doc, Mapping):
        raise TypeError("the record is not a JSON object")
    created = from_iso(str(doc["created"])).timestamp()
    runtime = doc.get("runtime_s")
    return Entry(
        created=created,
        task=text_of(doc.get("task_name")),
        action=text_of(doc.get("action")),
        run_id=text_of(doc.get("run_id")),
        runtime_s=float(runtime) if isinstance(runtime, (int, float)) else None,
        exc_text=text_of(doc.get("exc_text")),
        message=text_of(doc.get("message")),
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
    shown = redact_url(args.redis)
    try:
        client: Any = redis.Redis.from_url(args.redis, decode_responses=True)
    except ValueError as exc:
        raise CLIError(f"--redis {shown}: {first_line(exc)}") from None
    keys = [f"{args.prefix}:task:{name}" for name in dict.fromkeys(args.task)]
    if not keys:
        keys = [f"{args.prefix}:{args.global_channel}"]
    actions = set(check_actions(args.action))
    printer = Printer(out, args.format, tz)
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
        raise CLIError(f"--redis {shown}: cannot reach Redis: {first_line(exc)}") from None
    except redis.ResponseError as exc:
        raise CLIError(f"--redis {shown}: {first_line(exc)}") from None
    except KeyboardInterrupt:
        return 130
    finally:
        client.close()
    return 0
