"""Three replicas of ``replica_app.py`` on one repo (PostgreSQL or Redis), killed and paused at random.

Used by tests/coordination/test_chaos.py (a few seconds) and bench/replica_failover.py (the
long run). :func:`run_chaos` drives the replicas; :func:`analyse` reads the repo afterwards and
returns what the checks need: gaps between runs, runs per decision, runs left open.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import sqlalchemy as sa

APP = Path(__file__).with_name("replica_app.py")
ENDS = ("success", "fail", "crash", "terminate")


class Zygote:
    """A fresh interpreter that imports the replica app once, then forks replicas on request.

    A new interpreter spends seconds importing on a loaded machine; a fork of one that has
    imported starts at once. Forking the test process itself is unsafe (its other threads
    may hold locks the child would wait on forever): the zygote has one thread. It ignores
    SIGCHLD, so the kernel reaps the replicas; they are the test's to signal by pid.
    """

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__)), "zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def fork(self, out: Path, args: list[str]) -> Forked:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("\t".join([str(out), *args]) + "\n")
        self.proc.stdin.flush()
        return Forked(int(self.proc.stdout.readline()))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _zygote() -> None:  # pragma: no cover - runs in the zygote
    from tests.integration import replica_app

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for line in sys.stdin:
        out, *args = line.rstrip("\n").split("\t")
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # its process runs are waited for
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                os.dup2(devnull, 2)
                sys.stdout = Path(out).open("w", buffering=1)  # noqa: SIM115
                replica_app.main(args[0], args[1], args[2], float(args[3]), float(args[4]))
                code = 0
            finally:
                os._exit(code)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


class Forked:
    """A replica forked by the :class:`Zygote`: the ``Popen`` calls used here, by pid."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0  # gone (reaped by the kernel: no status to read)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"replica {self.pid}", timeout or 0.0)
            _sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


@dataclass
class Replica:
    proc: subprocess.Popen[bytes] | Forked
    out: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def said(self, word: str) -> int:
        try:
            return self.out.read_text().split().count(word)
        except FileNotFoundError:
            return 0


@dataclass
class Chaos:
    """What happened: the table and lease used, and each disruption (kind, pid, monotonic)."""

    url: str
    table: str
    name: str
    lease_s: float
    events: list[tuple[str, int, float]] = field(default_factory=list)
    takeovers: list[float] = field(default_factory=list)  # seconds from disruption to takeover
    walls: list[float] = field(default_factory=list)  # time.time() of each disruption


def _sleep(seconds: float) -> None:
    threading.Event().wait(seconds)


def _engine(url: str) -> sa.Engine:
    from skylaunch.log.repos.sql import normalize_url

    return sa.create_engine(normalize_url(url), poolclass=sa.pool.NullPool)


class Store:
    """The records and the lease of a run, on PostgreSQL or Redis (by the URL's scheme):
    ``table`` is the table or the Redis key prefix, ``name`` the lease."""

    def __init__(self, url: str, table: str, name: str, lease_table: str = "skylaunch_lease"):
        self.url, self.table, self.name, self.lease_table = url, table, name, lease_table
        self.redis = url.startswith("redis")
        if self.redis:
            from skylaunch.coordination.redis import RedisLease
            from skylaunch.log import TaskRunRecord
            from skylaunch.log.repos.redis import RedisRepo

            self.repo = RedisRepo(url, TaskRunRecord, key_prefix=table)
            self.lease = RedisLease(self.repo.client, key=self.repo.key("lease", name))
        else:
            self.engine = _engine(url)

    def holder(self) -> tuple[int | None, int]:
        """The pid and epoch of the replica holding a valid lease (pid None: nobody)."""
        if self.redis:
            state = self.lease.read()
            if state is None:
                return None, self.lease.epoch
            return int(state.holder.split(":")[1]), state.epoch
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    f"SELECT holder, epoch, expires_at > now() FROM {self.lease_table} "
                    "WHERE name = :n"
                ),
                {"n": self.name},
            ).first()
        if row is None or not row[2]:
            return None, 0 if row is None else int(row[1])
        return int(str(row[0]).split(":")[1]), int(row[1])

    def take_records(self) -> list[tuple[str, str, str | None, float]]:
        """``(task, action, run_id, created)`` of every record, oldest first; then the
        records and the lease are deleted."""
        if self.redis:
            from tests.conftest import drop_redis_keys

            rows = [
                (r.task_name, r.action, r.run_id, r.created) for r in self.repo.filter_by().all()
            ]
            drop_redis_keys(self.url, self.table)
            return rows
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    f"SELECT task_name, action, run_id, created FROM {self.table} ORDER BY created"
                )
            ).all()
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {self.table}"))
            conn.execute(
                sa.text(f"DELETE FROM {self.lease_table} WHERE name = :n"), {"n": self.name}
            )
            conn.commit()
        return [(t, a, r, float(c)) for t, a, r, c in found]

    def close(self) -> None:
        if self.redis:
            self.repo.close()
        else:
            self.engine.dispose()


def start_replica(
    chaos: Chaos, workdir: Path, run_for_s: float, zygote: Zygote | None = None
) -> Replica:
    out = workdir / f"replica-{secrets.token_hex(4)}.out"
    if zygote is not None:
        args = [chaos.url, chaos.table, chaos.name, str(chaos.lease_s), str(run_for_s)]
        return Replica(zygote.fork(out, args), out)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with out.open("wb") as handle:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(APP),
                chaos.url,
                chaos.table,
                chaos.name,
                str(chaos.lease_s),
                str(run_for_s),
            ],
            stdout=handle,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    return Replica(proc, out)


def run_chaos(
    url: str,
    workdir: Path,
    *,
    seconds: float,
    lease_s: float = 1.5,
    disruptions: int | None = None,
    seed: int | None = None,
    lease_table: str = "skylaunch_lease",
    kill_share: float = 0.6,
    kinds: tuple[str, ...] | None = None,
    replace: bool = True,
    fork: bool = False,
) -> Chaos:
    """Run three replicas for about ``seconds``, disrupting the active one repeatedly.

    Each disruption is a SIGKILL of the active replica (a new one is started in its place) or
    a SIGSTOP longer than the lease followed by SIGCONT (``kill_share`` of them are kills,
    drawn with ``seed``; or the fixed sequence ``kinds``); without ``replace`` a killed
    replica is not replaced; with ``fork`` the replicas are forked by a :class:`Zygote`
    instead of started as new interpreters each. The next disruption waits until
    another
    replica took over. At the end every replica is stopped with SIGTERM, after the last
    take-over, so the last killed replica's runs have been marked ``crash``.
    """
    rng = random.Random(seed)
    chaos = Chaos(url, f"chaos_{secrets.token_hex(4)}", f"chaos_{secrets.token_hex(4)}", lease_s)
    store = Store(url, chaos.table, chaos.name, lease_table)
    run_for = seconds + 4 * lease_s + 30  # a safety net: replicas stop by themselves
    zygote = Zygote() if fork else None
    replicas = [start_replica(chaos, workdir, run_for, zygote) for _ in range(3)]
    try:
        _wait_ready(replicas)
        end = time.monotonic() + seconds
        count = 0
        if kinds is not None:
            disruptions = len(kinds)
        while time.monotonic() < end and (disruptions is None or count < disruptions):
            # the failover bound assumes a standby that runs: a replacement still starting
            # (seconds of imports on a loaded machine) is not one yet
            _wait_ready(replicas)
            _sleep(rng.uniform(1.0, 2.0))  # the new active makes its first runs meanwhile
            pid, epoch = store.holder()
            victim = next((r for r in replicas if r.pid == pid), None)
            if victim is None:
                continue
            count += 1
            if kinds is not None:
                kind = kinds[count - 1]
            else:
                kind = "kill" if rng.random() < kill_share else "stop"
            began = time.monotonic()
            chaos.events.append((kind, victim.pid, began))
            chaos.walls.append(time.time())
            if kind == "kill":
                victim.proc.send_signal(signal.SIGKILL)
                victim.proc.wait()
                replicas.remove(victim)
                if replace:
                    replicas.append(start_replica(chaos, workdir, run_for, zygote))
            else:
                victim.proc.send_signal(signal.SIGSTOP)
            # wait for another replica to take over (a new epoch held by a live pid)
            took = _wait_takeover(store, epoch, began + 10 * lease_s)
            if took is not None:
                chaos.takeovers.append(took - began)
            if kind == "stop":
                _sleep(rng.uniform(0.0, lease_s / 2))
                victim.proc.send_signal(signal.SIGCONT)
        # the last take-over has logged the crashes; a moment for its first runs
        _sleep(lease_s)
        if os.environ.get("CHAOS_DEBUG"):
            print("stopping", [r.pid for r in replicas], time.monotonic())
    finally:
        for replica in replicas:
            if replica.proc.poll() is None:
                replica.proc.send_signal(signal.SIGCONT)
                replica.proc.send_signal(signal.SIGTERM)
        for replica in replicas:
            with suppress(subprocess.TimeoutExpired):
                replica.proc.wait(timeout=15)
            if os.environ.get("CHAOS_DEBUG"):
                print("exited", replica.pid, time.monotonic())
            if replica.proc.poll() is None:
                replica.proc.kill()
                replica.proc.wait()
        store.close()
        if zygote is not None:
            zygote.close()
    return chaos


def _wait_ready(replicas: list[Replica], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(r.said("ready") for r in replicas) and time.monotonic() < deadline:
        _sleep(0.05)


def _wait_takeover(store: Store, epoch: int, until: float) -> float | None:
    while time.monotonic() < until:
        pid, now_epoch = store.holder()
        if pid is not None and now_epoch > epoch:
            return time.monotonic()
        _sleep(0.02)
    return None


def analyse(chaos: Chaos) -> dict[str, Any]:
    """Read the repo: runs per task, gaps of ``tick``, runs without exactly one end."""
    store = Store(chaos.url, chaos.table, chaos.name)
    try:
        rows = store.take_records()
    finally:
        store.close()
    runs: dict[str, list[float]] = {}
    ends: dict[str, list[str]] = {}
    opened: dict[str, str] = {}
    for task, action, run_id, created in rows:
        if action == "run":
            runs.setdefault(task, []).append(float(created))
            opened[run_id] = task
        elif action in ENDS:
            ends.setdefault(run_id, []).append(action)
    ticks = runs.get("tick", [])
    gaps = [b - a for a, b in pairwise(ticks)]
    slow = runs.get("slow", [])
    slow_gaps = [b - a for a, b in pairwise(slow)]
    return {
        "runs": {task: len(times) for task, times in runs.items()},
        "ticks": ticks,
        "tick_min_gap": min(gaps, default=None),
        "tick_max_gap": max(gaps, default=None),
        "slow_min_gap": min(slow_gaps, default=None),
        "open": [run_id for run_id in opened if not ends.get(run_id)],
        "ended_twice": [run_id for run_id, acts in ends.items() if len(acts) > 1],
        "crashes": sum(acts.count("crash") for acts in ends.values()),
        "succeeded": Counter(
            opened.get(run_id) for run_id, acts in ends.items() if "success" in acts
        ),
        "extract_ok": sum(
            1
            for run_id, acts in ends.items()
            if opened.get(run_id) == "extract" and "success" in acts
        ),
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["zygote"]:
        _zygote()
