"""``skylaunch replicas --repo postgresql://...``: which replica is active, and since when.

It reads the lease rows that coordinated schedulers keep in their repo's database
(:mod:`skylaunch.coordination`): one line per lease, or only ``--name``'s. With
``--repo redis://...`` it reads the lease keys of the Redis repo ``--key-prefix``; a Redis
lease that ran out or was released is gone, so only live ones are shown.
"""

from __future__ import annotations

import argparse
from datetime import datetime, tzinfo
from typing import Any, TextIO

from skylaunch.cli.entries import CLIError, first_line
from skylaunch.log._redact import redact_url

__all__ = ["add_parser", "replicas"]


def add_parser(commands: Any) -> None:
    """The ``replicas`` subcommand of the ``skylaunch`` parser."""
    parser = commands.add_parser(
        "replicas",
        help="show which replica of a coordinated app is active, and since when",
        description=(
            "Print the leases of coordinated schedulers (App(coordination=...)) kept in the "
            "repo's PostgreSQL database or Redis server: the active replica, its epoch, since "
            "when it is active and when its lease runs out (all by the database clock)."
        ),
        allow_abbrev=False,
    )
    parser.add_argument(
        "--repo", required=True, metavar="URL", help="postgresql://user@host/db or redis://host/0"
    )
    parser.add_argument(
        "--key-prefix", default="skylaunch", help="the RedisRepo's key_prefix (default: skylaunch)"
    )
    parser.add_argument("--name", help="only this lease (Coordination(name=...))")
    parser.add_argument(
        "--lease-table", default=None, help="the lease table (default: skylaunch_lease)"
    )
    parser.add_argument("--tz", help="time zone of the times (default: the local zone)")


def replicas(args: argparse.Namespace, out: TextIO, tz: tzinfo | None) -> int:
    import sqlalchemy as sa
    from sqlalchemy import exc as sa_exc

    from skylaunch.coordination.lease import DEFAULT_LEASE_TABLE, PostgresLease
    from skylaunch.log.repos.sql import normalize_url

    shown = redact_url(args.repo)
    if args.repo.startswith(("redis:", "rediss:", "unix:")):
        return _redis_replicas(args, out, tz)
    if not args.repo.startswith(("postgresql", "postgres:")):
        raise CLIError(f"--repo {shown}: coordination keeps its lease in PostgreSQL or Redis")
    try:
        engine = sa.create_engine(normalize_url(args.repo), connect_args={"connect_timeout": 5})
    except Exception as exc:
        raise CLIError(f"--repo {shown}: {first_line(exc)}") from None
    table = args.lease_table or DEFAULT_LEASE_TABLE
    try:
        PostgresLease(engine, table=table)  # checks the table name
        query = f"SELECT name, holder, epoch, acquired_at, expires_at, now() FROM {table}"
        params: dict[str, Any] = {}
        if args.name is not None:
            query += " WHERE name = :name"
            params["name"] = args.name
        with engine.connect() as conn:
            rows = conn.execute(sa.text(query + " ORDER BY name"), params).all()
    except ValueError as exc:
        raise CLIError(f"--lease-table: {exc}") from None
    except sa_exc.ProgrammingError:
        raise CLIError(
            f"--repo {shown}: no lease table {table!r} (no coordinated scheduler ran there)"
        ) from None
    except sa_exc.DBAPIError as exc:
        raise CLIError(f"--repo {shown}: cannot read: {first_line(exc.orig or exc)}") from None
    finally:
        engine.dispose()
    if not rows:
        out.write("no lease" + (f" named {args.name!r}" if args.name else "") + "\n")
        return 1
    out.writelines(
        _line(name, holder, epoch, acquired, expires, now, tz) + "\n"
        for name, holder, epoch, acquired, expires, now in rows
    )
    return 0


def _redis_replicas(args: argparse.Namespace, out: TextIO, tz: tzinfo | None) -> int:
    import redis

    from skylaunch.coordination.redis import RedisLease

    shown = redact_url(args.repo)
    base = "{" + args.key_prefix + "}:lease:"
    try:
        client = redis.Redis.from_url(args.repo, decode_responses=True, socket_timeout=5)
    except ValueError as exc:
        raise CLIError(f"--repo {shown}: {first_line(exc)}") from None
    try:
        if args.name is not None:
            names = [args.name]
        else:
            keys = client.scan_iter(match=base + "*", count=1000)
            names = sorted(k[len(base) :] for k in keys if not k.endswith(":epoch"))
        states = [RedisLease(client, key=base + name, name=name).read() for name in names]
    except redis.RedisError as exc:
        raise CLIError(f"--repo {shown}: cannot read: {first_line(exc)}") from None
    finally:
        client.close()
    lines = [
        _line(s.name, s.holder, s.epoch, s.acquired_at, s.expires_at, s.db_now, tz)
        for s in states
        if s is not None
    ]
    if not lines:
        out.write("no lease" + (f" named {args.name!r}" if args.name else "") + "\n")
        return 1
    out.writelines(line + "\n" for line in lines)
    return 0


def _line(
    name: str,
    holder: str,
    epoch: int,
    acquired: datetime,
    expires: datetime,
    now: datetime,
    tz: tzinfo | None,
) -> str:
    def at(moment: datetime) -> str:
        return moment.astimezone(tz).isoformat(sep=" ", timespec="seconds")

    if expires > now:
        left = (expires - now).total_seconds()
        return (
            f"{name}: active {holder} (epoch {epoch}) since {at(acquired)}, "
            f"lease runs out in {left:.1f} s"
        )
    return (
        f"{name}: no active replica (the lease of {holder}, epoch {epoch}, "
        f"ran out at {at(expires)})"
    )
