from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from skylaunch.log.outputs.redis import RedisStreamHandler

from .conftest import MakeRecord

pytestmark = pytest.mark.redis

Attach = Callable[[logging.Handler], logging.Logger]
WAIT_S = 10


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key/channel prefix of this test alone; its keys are deleted afterwards."""
    name = f"sltest:{uuid.uuid4().hex[:12]}"
    yield name
    admin = redis.Redis.from_url(redis_url)
    keys = list(admin.scan_iter(match=f"{name}:*"))
    if keys:
        admin.delete(*keys)
    admin.close()


@pytest.fixture
def admin(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


def stream_seqs(admin: redis.Redis, key: str) -> list[int]:
    return [json.loads(fields["record"])["seq"] for _, fields in admin.xrange(key)]


def first_seen(seqs: list[int]) -> list[int]:
    """Order of first appearance: delivery is at least once, so a resent batch may repeat."""
    return list(dict.fromkeys(seqs))


class SchedulerLogWatch(logging.Handler):
    """Lets a test wait for a message on skylaunch.scheduler instead of sleeping."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.records.append(record)
            self.changed.notify_all()

    def wait_for(self, text: str, timeout_s: float = WAIT_S) -> bool:
        with self.changed:
            return self.changed.wait_for(
                lambda: any(text in r.getMessage() for r in self.records), timeout_s
            )

    def messages(self) -> list[str]:
        with self.changed:
            return [r.getMessage() for r in self.records]


@pytest.fixture
def scheduler_log() -> Iterator[SchedulerLogWatch]:
    watch = SchedulerLogWatch()
    logger = logging.getLogger("skylaunch.scheduler")
    logger.addHandler(watch)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    yield watch
    logger.removeHandler(watch)
    logger.setLevel(old)


def test_records_arrive_in_order_on_streams_and_channels(
    redis_url: str, prefix: str, admin: redis.Redis, task_logger: Attach, make_record: MakeRecord
) -> None:
    pubsub = admin.pubsub()
    channels = [f"{prefix}:global", f"{prefix}:task:a", f"{prefix}:task:b"]
    pubsub.subscribe(*channels)
    for _ in channels:  # subscription confirmations
        assert pubsub.get_message(timeout=WAIT_S) is not None
    handler = RedisStreamHandler(redis_url, channel_prefix=prefix, batch=40, stream_ttl_s=600)
    logger = task_logger(handler)
    for i in range(250):
        logger.handle(make_record("ab"[i % 2], "run", f"r{i}"))
    assert handler.drain(WAIT_S)
    assert (handler.sent, handler.dropped) == (250, 0)

    assert stream_seqs(admin, f"{prefix}:global") == list(range(1, 251))
    assert stream_seqs(admin, f"{prefix}:task:a") == list(range(1, 251, 2))
    assert stream_seqs(admin, f"{prefix}:task:b") == list(range(2, 251, 2))
    assert 0 < admin.ttl(f"{prefix}:global") <= 600

    published: dict[str, list[int]] = {c: [] for c in channels}
    while sum(map(len, published.values())) < 500:
        message = pubsub.get_message(timeout=WAIT_S)
        assert message is not None, published
        published[message["channel"]].append(json.loads(message["data"])["seq"])
    pubsub.close()
    assert published[f"{prefix}:global"] == list(range(1, 251))
    assert published[f"{prefix}:task:a"] == list(range(1, 251, 2))
    assert published[f"{prefix}:task:b"] == list(range(2, 251, 2))


def test_payload_fields(
    redis_url: str, prefix: str, admin: redis.Redis, task_logger: Attach, make_record: MakeRecord
) -> None:
    handler = RedisStreamHandler(redis_url, channel_prefix=prefix)
    task_logger(handler).handle(make_record("etl", "fail", "r-9"))
    assert handler.drain(WAIT_S)
    ((_, fields),) = admin.xrange(f"{prefix}:task:etl")
    payload = json.loads(fields["record"])
    assert payload["exc_text"].endswith("ValueError: etl broke")
    del payload["exc_text"]
    assert payload == {
        "task_name": "etl",
        "action": "fail",
        "run_id": "r-9",
        "created": "2024-03-01T12:00:00+00:00",
        "start": "2024-03-01T12:00:00+00:00",
        "end": "2024-03-01T12:00:00+00:00",
        "runtime_s": 0.0,
        "level": "ERROR",
        "logger": "skylaunch.task",
        "message": "Task 'etl' status: 'fail'",
        "host": socket.gethostname(),
        "pid": payload["pid"],
        "seq": 1,
    }


def test_records_without_a_task_go_to_the_global_channel_only(
    redis_url: str, prefix: str, admin: redis.Redis, task_logger: Attach
) -> None:
    handler = RedisStreamHandler(redis_url, channel_prefix=prefix, global_channel="all")
    task_logger(handler).warning("scheduler-wide note")
    assert handler.drain(WAIT_S)
    assert list(admin.scan_iter(match=f"{prefix}:*")) == [f"{prefix}:all"]


def test_streams_are_capped_near_stream_maxlen(
    redis_url: str, prefix: str, admin: redis.Redis, task_logger: Attach, make_record: MakeRecord
) -> None:
    handler = RedisStreamHandler(redis_url, channel_prefix=prefix, stream_maxlen=10)
    logger = task_logger(handler)
    for _ in range(600):
        logger.handle(make_record("t", "run"))
    assert handler.drain(WAIT_S)
    # MAXLEN ~ trims whole radix-tree nodes (100 entries by default), so the cap is approximate.
    assert 10 <= admin.xlen(f"{prefix}:task:t") <= 200


def test_close_flushes_what_is_queued_and_later_records_are_dropped(
    redis_url: str, prefix: str, admin: redis.Redis, make_record: MakeRecord
) -> None:
    handler = RedisStreamHandler(redis_url, channel_prefix=prefix)
    for _ in range(30):
        handler.handle(make_record("t", "run"))
    handler.close()
    assert stream_seqs(admin, f"{prefix}:task:t") == list(range(1, 31))
    handler.handle(make_record("t", "run"))
    assert handler.dropped == 1


class CuttableProxy:
    """A TCP relay in front of Redis; cutting it looks to the client like a Redis restart."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.open = threading.Event()
        self.open.set()
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.open.clear()
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.listener.close()
        self.cut()


@pytest.fixture
def proxy(redis_url: str) -> Iterator[CuttableProxy]:
    parsed = redis.connection.parse_url(redis_url)
    relay = CuttableProxy(parsed.get("host", "127.0.0.1"), int(parsed.get("port", 6379)))
    yield relay
    relay.close()


def test_an_outage_mid_stream_loses_nothing_that_fit_the_queue(
    proxy: CuttableProxy,
    prefix: str,
    admin: redis.Redis,
    task_logger: Attach,
    make_record: MakeRecord,
    scheduler_log: SchedulerLogWatch,
) -> None:
    handler = RedisStreamHandler(
        f"redis://127.0.0.1:{proxy.port}/0",
        channel_prefix=prefix,
        batch=10,
        backoff_s=0.01,
        max_backoff_s=0.05,
        report_interval_s=3600,
    )
    logger = task_logger(handler)
    for _ in range(30):
        logger.handle(make_record("t", "run"))
    assert handler.drain(WAIT_S)

    proxy.cut()
    for _ in range(100):
        logger.handle(make_record("t", "run"))
    assert scheduler_log.wait_for("write failed")  # the worker hit the outage with records queued
    assert not handler.drain(0)
    proxy.restore()
    for _ in range(20):
        logger.handle(make_record("t", "run"))
    assert handler.drain(WAIT_S)

    assert handler.dropped == 0
    assert first_seen(stream_seqs(admin, f"{prefix}:task:t")) == list(range(1, 151))
    assert first_seen(stream_seqs(admin, f"{prefix}:global")) == list(range(1, 151))
    unreachable = [m for m in scheduler_log.messages() if "write failed" in m]
    assert len(unreachable) == 1  # rate-limited: one report per outage here
    assert scheduler_log.wait_for("writing again after")


def test_a_killed_connection_mid_stream_loses_nothing(
    redis_url: str,
    prefix: str,
    admin: redis.Redis,
    task_logger: Attach,
    make_record: MakeRecord,
) -> None:
    name = f"sltest-{uuid.uuid4().hex[:8]}"
    handler = RedisStreamHandler(redis_url, channel_prefix=prefix, client_name=name, batch=7)
    logger = task_logger(handler)
    for _ in range(50):
        logger.handle(make_record("t", "run"))
    assert handler.drain(WAIT_S)
    ours = [c["id"] for c in admin.client_list() if c.get("name") == name]
    assert ours
    for client_id in ours:  # only this handler's connections: the server is shared
        admin.client_kill_filter(_id=client_id)
    for _ in range(50):
        logger.handle(make_record("t", "run"))
    assert handler.drain(WAIT_S)
    assert first_seen(stream_seqs(admin, f"{prefix}:task:t")) == list(range(1, 101))
    assert handler.dropped == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_absent_redis_never_blocks_emit_and_counts_drops(
    make_record: MakeRecord, scheduler_log: SchedulerLogWatch
) -> None:
    handler = RedisStreamHandler(
        f"redis://127.0.0.1:{free_port()}/0",
        max_queue=10,
        batch=4,
        flush_timeout_s=0.2,
        backoff_s=0.01,
        max_backoff_s=0.02,
    )
    started = time.perf_counter()
    for _ in range(25):
        handler.handle(make_record("t", "run"))
    elapsed = time.perf_counter() - started
    assert handler.dropped == 15  # queued records stay queued (in flight included)
    drops = [m for m in scheduler_log.messages() if "dropped" in m]
    assert drops == [drops[0]]
    assert (
        "dropped 1 record(s) since the last report (total dropped 1): the queue of 10 is full"
        in drops[0]
    )
    handler.close()
    assert handler.dropped == 25  # the 10 queued ones could not be sent before the timeout
    assert any(
        "closed with 10 record(s) unwritten after 0.2 s; dropped 24 record(s) since the last "
        "report (total dropped 25)" in m
        for m in scheduler_log.messages()
    )
    assert elapsed < 1.0, f"25 emits took {elapsed:.3f} s"


def test_a_redis_that_does_not_answer_never_blocks_emit(make_record: MakeRecord) -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # accepts connections, never replies
    try:
        handler = RedisStreamHandler(
            f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
            max_queue=5,
            socket_timeout_s=5,
            flush_timeout_s=0.1,
        )
        started = time.perf_counter()
        for _ in range(20):
            handler.handle(make_record("t", "run"))
        elapsed = time.perf_counter() - started
        assert handler.dropped == 15
        handler.close()
    finally:
        silent.close()
    assert elapsed < 1.0, f"20 emits took {elapsed:.3f} s"


def test_a_batch_redis_rejects_is_reported_not_retried_forever(
    redis_url: str,
    prefix: str,
    admin: redis.Redis,
    make_record: MakeRecord,
    scheduler_log: SchedulerLogWatch,
) -> None:
    admin.set(f"{prefix}:global", "not a stream")
    handler = RedisStreamHandler(redis_url, channel_prefix=prefix)
    handler.handle(make_record("t", "run"))
    assert handler.drain(WAIT_S)
    assert any("a batch of 1 record(s) refused for good" in m for m in scheduler_log.messages())
    # Commands of the batch that Redis accepted were applied all the same.
    assert stream_seqs(admin, f"{prefix}:task:t") == [1]
    handler.close()


def test_no_thread_and_no_connection_before_the_first_record(redis_url: str) -> None:
    before = {t.name for t in threading.enumerate()}
    handler = RedisStreamHandler("redis://127.0.0.1:1/0")  # nothing there: must not matter
    assert {t.name for t in threading.enumerate()} == before
    assert handler.drain(0)
    handler.close()


def test_channel_names(redis_url: str) -> None:
    handler = RedisStreamHandler(channel_prefix="app", global_channel="everything")
    assert handler.task_channel("etl") == "app:task:etl"
    assert handler.global_key == "app:everything"
    handler.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stream_maxlen": 0}, "stream_maxlen: got 0"),
        ({"max_queue": -1}, "max_queue: got -1"),
        ({"batch": 2.5}, "batch: got 2.5"),
        ({"stream_ttl_s": 0}, "stream_ttl_s: got 0"),
        ({"flush_timeout_s": -1}, "flush_timeout_s: got -1"),
        ({"channel_prefix": ""}, "channel_prefix and global_channel"),
        ({"url": "http://user:pw@host/0"}, r"url: got 'http://user:\*\*\*@host/0'"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedisStreamHandler(**kwargs)


def test_missing_redis_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.delitem(sys.modules, "skylaunch.log.outputs.redis")
    with pytest.raises(ImportError, match=r"pip install 'skylaunch\[redis\]'"):
        importlib.import_module("skylaunch.log.outputs.redis")


def test_importing_the_outputs_package_does_not_import_redis() -> None:
    code = (
        "import sys, skylaunch.log.outputs as o\n"
        "assert 'redis' not in sys.modules, 'redis imported eagerly'\n"
        "assert o.RedisStreamHandler.__name__ == 'RedisStreamHandler'\n"
        "assert 'redis' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_records_logged_just_before_exit_are_flushed_by_logging_shutdown(
    redis_url: str, prefix: str, admin: redis.Redis
) -> None:
    code = (
        "import logging\n"
        "from skylaunch.log.outputs.redis import RedisStreamHandler\n"
        "logger = logging.getLogger('skylaunch.task')\n"
        "logger.setLevel(logging.INFO)\n"
        f"logger.addHandler(RedisStreamHandler({redis_url!r}, channel_prefix={prefix!r}))\n"
        "for i in range(200):\n"
        "    logger.info('line %d', i, extra={'task_name': 't', 'run_id': str(i)})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=WAIT_S)
    assert stream_seqs(admin, f"{prefix}:task:t") == list(range(1, 201))


def test_a_forked_child_gets_its_own_worker_and_counters(
    redis_url: str, prefix: str, admin: redis.Redis, make_record: MakeRecord
) -> None:
    handler = RedisStreamHandler(redis_url, channel_prefix=prefix)
    handler.handle(make_record("parent", "run"))
    assert handler.drain(WAIT_S)
    with warnings.catch_warnings():
        # Python 3.12 warns about forking a threaded process; the handler is what is tested.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()  # the child inherits the handler with its parent's worker state
    if pid == 0:  # child
        try:
            handler.handle(make_record("child", "run"))
            ok = handler.drain(WAIT_S) and handler.sent == 1
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(stream_seqs(admin, f"{prefix}:task:child")) == 1
    assert handler.sent == 1
    handler.close()
