"""``skylaunch replicas``: the active replica of each lease, from the database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from skylaunch.cli import main
from skylaunch.coordination import PostgresLease, RedisLease
from skylaunch.log.repos.redis import RedisRepo
from skylaunch.log.repos.sql import normalize_url
from tests.conftest import drop_redis_keys


@pytest.fixture
def lease(pg_url: str) -> Iterator[PostgresLease]:
    engine = sa.create_engine(normalize_url(pg_url))
    lease = PostgresLease(engine, name="nightly", table=f"lease_{secrets.token_hex(4)}")
    lease.create()
    yield lease
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {lease.table}"))
    engine.dispose()


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.pg
def test_shows_the_active_replica_and_since_when(
    lease: PostgresLease, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["replicas", "--repo", pg_url, "--lease-table", lease.table, "--tz", "UTC"]
    assert run(args, capsys) == (1, "no lease\n", "")
    state = lease.take("web-1:42:ab", 30)
    assert state is not None
    code, out, _ = run(args, capsys)
    since = state.acquired_at.isoformat(sep=" ", timespec="seconds")
    assert code == 0
    assert out.startswith(f"nightly: active web-1:42:ab (epoch 1) since {since}, lease runs out")
    lease.release("web-1:42:ab", 1)
    code, out, _ = run([*args, "--name", "nightly"], capsys)
    assert code == 0
    assert "no active replica (the lease of web-1:42:ab, epoch 1, ran out at" in out
    assert run([*args, "--name", "other"], capsys)[1] == "no lease named 'other'\n"


@pytest.mark.pg
def test_mistakes_end_with_one_line_and_exit_code_2(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["replicas", "--repo", "sqlite:///x.db"], capsys)
    assert (code, err) == (
        2,
        (
            "skylaunch: error: --repo sqlite:///x.db: coordination keeps its lease in "
            "PostgreSQL or Redis\n"
        ),
    )
    code, _, err = run(["replicas", "--repo", pg_url, "--lease-table", "no_such_lease"], capsys)
    assert code == 2
    assert "no lease table 'no_such_lease'" in err
    code, _, err = run(["replicas", "--repo", pg_url, "--lease-table", "x;y"], capsys)
    assert code == 2
    assert "identifier" in err


@pytest.mark.redis
def test_shows_the_live_redis_leases_of_a_key_prefix(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"sltest:{secrets.token_hex(6)}"
    repo = RedisRepo(redis_url, key_prefix=prefix)
    try:
        args = ["replicas", "--repo", redis_url, "--key-prefix", prefix, "--tz", "UTC"]
        assert run(args, capsys) == (1, "no lease\n", "")
        nightly = RedisLease(repo.client, key=repo.key("lease", "nightly"), name="nightly")
        hourly = RedisLease(repo.client, key=repo.key("lease", "hourly"), name="hourly")
        state = nightly.take("web-1:42:ab", 30)
        assert state is not None
        assert hourly.take("web-2:7:cd", 30) is not None
        code, out, _ = run(args, capsys)
        since = state.acquired_at.isoformat(sep=" ", timespec="seconds")
        assert code == 0
        first, second = out.splitlines()
        assert first.startswith("hourly: active web-2:7:cd (epoch 1)")
        assert second.startswith(f"nightly: active web-1:42:ab (epoch 1) since {since}, lease")
        assert nightly.release("web-1:42:ab", 1)
        assert run([*args, "--name", "nightly"], capsys)[1] == "no lease named 'nightly'\n"
        code, out, _ = run([*args, "--name", "hourly"], capsys)
        assert code == 0
        assert out.startswith("hourly: active web-2:7:cd")
    finally:
        repo.close()
        drop_redis_keys(redis_url, prefix)
    code, _, err = run(["replicas", "--repo", "redis://127.0.0.1:1/0"], capsys)
    assert code == 2
    assert "cannot read" in err
