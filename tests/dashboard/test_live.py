"""LiveLog: a bounded buffer read by sequence number; readers that fall behind are told so."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest

from skylaunch.dashboard.live import LiveLog
from skylaunch.log.context import RunInfo, run_context


def test_after_returns_new_lines_and_counts_the_gap() -> None:
    live = LiveLog(max_lines=5)
    for i in range(3):
        live.append({"message": f"m{i}"})
    got = live.after(0)
    assert [x["message"] for x in got.lines] == ["m0", "m1", "m2"]
    assert (got.last, got.skipped) == (3, 0)
    assert live.after(3).lines == []
    for i in range(3, 10):
        live.append({"message": f"m{i}"})
    got = live.after(3)  # m3, m4 fell out of the buffer of five
    assert [x["message"] for x in got.lines] == ["m5", "m6", "m7", "m8", "m9"]
    assert got.skipped == 2
    got = live.after(0, limit=2)  # a reader far behind jumps to the newest lines
    assert [x["message"] for x in got.lines] == ["m8", "m9"]
    assert got.skipped == 8


def test_records_carry_their_run_and_can_be_read_by_run() -> None:
    live = LiveLog()
    logger = logging.getLogger("skylaunch.test.live")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(live)
    try:
        with run_context(RunInfo("etl", "run-1")):
            logger.info("inside %s", "the run")
        logger.info("outside")
        try:
            raise KeyError("x")
        except KeyError:
            logger.exception("broke")
    finally:
        logger.removeHandler(live)
    assert [x["message"] for x in live.of_run("run-1")] == ["inside the run"]
    assert [x["message"] for x in live.after(0, task="etl").lines] == ["inside the run"]
    broke = live.after(0).lines[-1]
    assert "KeyError" in broke["exc_text"]
    json.dumps(live.after(0).lines)  # what the events stream sends


def test_many_writer_threads_lose_nothing_a_reader_is_told_about() -> None:
    live = LiveLog(max_lines=1000)
    seen: list[int] = []
    skipped = 0
    done = threading.Event()

    def write(k: int) -> None:
        for i in range(2000):
            live.append({"message": f"{k}-{i}"})

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    seq = 0
    while not done.is_set():
        got = live.after(seq, limit=300)
        seen.append(len(got.lines))
        skipped += got.skipped
        seq = got.last
        if not any(t.is_alive() for t in threads) and seq == live.last:
            done.set()
    for t in threads:
        t.join()
    assert sum(seen) + skipped == 8000


def test_bad_size_is_refused() -> None:
    with pytest.raises(ValueError, match="max_lines"):
        LiveLog(max_lines=0)


@pytest.mark.redis
def test_follows_the_redis_stream_of_another_replica(redis_url: str) -> None:
    import redis

    key = f"skylaunch-test-live:{time.monotonic_ns()}"
    client = redis.Redis.from_url(redis_url)
    live = LiveLog()
    try:
        live.follow_redis(redis_url, key)
        doc = {"message": "from elsewhere", "host": "other", "pid": 1, "task_name": "etl"}
        deadline = time.monotonic() + 10
        while not live.after(0).lines and time.monotonic() < deadline:
            client.xadd(key, {"record": json.dumps(doc)})
            threading.Event().wait(0.05)
        assert live.after(0).lines[0]["message"] == "from elsewhere"
    finally:
        live.close()
        client.delete(key)
        client.close()
