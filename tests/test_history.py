from __future__ import annotations

import pytest

from skylaunch.history import TaskHistory


def test_last_and_counts_are_indexed() -> None:
    history = TaskHistory()
    log = history.of("a")
    for ts in (10.0, 20.0, 30.0):
        history.add("a", "run", ts, f"r{ts}")
        history.add("a", "success", ts + 1, f"r{ts}")
    assert log.last("run") == 30.0
    assert log.last("fail") is None
    assert log.count("success", 11.0, 21.0) == 2
    assert log.count("success", 11.5, 20.5) == 0
    assert log.count_after("run", 10.0) == 2
    assert log.count_after("run", None) == 3
    assert log.last_action == "success"
    assert log.last_of(("run", "fail")) == 30.0


def test_any_between_is_inclusive() -> None:
    history = TaskHistory()
    history.add("a", "fail", 5.0)
    log = history.of("a")
    assert log.any_between(("success", "fail"), 5.0, 5.0)
    assert not log.any_between(("success", "fail"), 5.1, 9.0)
    assert not log.any_between(("success",), 0.0, 9.0)


def test_running_runs_are_tracked_by_run_id() -> None:
    history = TaskHistory()
    history.add("a", "run", 1.0, "x")
    history.add("a", "run", 2.0, "y")
    assert set(history.of("a").running) == {"x", "y"}
    history.add("a", "success", 3.0, "x")
    assert set(history.of("a").running) == {"y"}
    history.add("a", "crash", 4.0, "y")
    assert history.of("a").running == {}


def test_out_of_order_records_keep_the_index_sorted() -> None:
    history = TaskHistory()
    history.add("a", "run", 5.0)
    history.add("a", "run", 1.0)
    history.add("a", "run", 3.0)
    assert list(history.of("a").times("run")) == [1.0, 3.0, 5.0]
    assert history.of("a").last_action == "run"
    assert history.of("a").last_time == 5.0


def test_memory_is_bounded_per_action() -> None:
    history = TaskHistory(max_records=100)
    for i in range(1000):
        history.add("a", "run", float(i))
    times = list(history.of("a").times("run"))
    assert len(times) <= 125
    assert times[-1] == 999.0
    assert times == sorted(times)


def test_on_change_hook_is_called_per_record() -> None:
    seen: list[str] = []
    history = TaskHistory()
    history.on_change = seen.append
    history.add("a", "run", 1.0)
    history.add("b", "run", 1.0)
    assert seen == ["a", "b"]


def test_bad_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="max_records"):
        TaskHistory(max_records=0)


def test_load_builds_sorted_arrays_and_the_last_action() -> None:
    history = TaskHistory(max_records=10)
    seen: list[str] = []
    history.on_change = seen.append
    log = history.load("a", {"run": [3.0, 1.0], "success": [2.0], "fail": [3.0]})
    assert history.of("a") is log
    assert list(log.times("run")) == [1.0, 3.0]
    assert log.last("success") == 2.0
    # at the same instant, an end sorts after the run it ends
    assert (log.last_action, log.last_time) == ("fail", 3.0)
    assert log.running == {}
    assert seen == ["a"]


def test_load_finds_open_runs_by_run_id_in_the_recent_records() -> None:
    recent = [
        (1.0, "run", "x"),
        (1.5, "crash", "x"),
        (2.0, "run", "y"),
        (3.0, "run", "z"),
        (4.0, "success", "z"),
    ]
    log = TaskHistory().load("a", {"run": [1.0, 2.0, 3.0]}, recent)
    assert log.running == {"y": 2.0}
    assert log.last_action == "success"  # known from the recent records too


def test_load_open_runs_without_run_id_follow_the_newest_record() -> None:
    history = TaskHistory()
    recent = [(1.0, "run", None), (2.0, "success", None), (3.0, "run", None)]
    assert history.load("a", {}, recent).running == {"": 3.0}
    assert history.load("b", {}, recent[:2]).running == {}


def test_load_keeps_at_most_max_records_per_action() -> None:
    log = TaskHistory(max_records=3).load("a", {"run": [float(i) for i in range(10)]})
    assert list(log.times("run")) == [7.0, 8.0, 9.0]
    assert log.running == {}  # without recent records nothing is open


def test_fails_in_row_follows_the_logged_order_at_equal_instants() -> None:
    """terminate, run, fail at one instant, then run, fail: two failures in the row (it was 1)."""
    log = TaskHistory().of("t")
    for action, ts in [
        ("terminate", 1.0),
        ("run", 1.0),
        ("fail", 1.0),
        ("run", 2.0),
        ("fail", 2.0),
    ]:
        log.add(action, ts)  # type: ignore[arg-type]
    assert log.fails_in_row() == 2
    # ...and a success logged after a failure at the same instant ends the row
    log = TaskHistory().of("u")
    for action, ts in [("run", 1.0), ("fail", 1.0), ("run", 1.0), ("success", 1.0)]:
        log.add(action, ts)  # type: ignore[arg-type]
    assert log.fails_in_row() == 0
    log.add("fail", 2.0)
    assert log.fails_in_row() == 1


def test_fails_in_row_after_a_restore_reads_the_recent_records_in_order() -> None:
    history = TaskHistory()
    recent = [(1.0, "terminate", None), (1.0, "run", None), (1.0, "fail", None)]
    log = history.load("t", {"terminate": [1.0], "run": [1.0], "fail": [1.0]}, recent)
    assert log.fails_in_row() == 1
    # a window without a reset that holds fewer failures than the task has: by timestamps
    log = history.load("v", {"success": [0.5], "fail": [1.0, 2.0, 3.0]}, [(3.0, "fail", None)])
    assert log.fails_in_row() == 3


def test_fails_in_row_falls_back_to_timestamps_after_an_out_of_order_record() -> None:
    log = TaskHistory().of("t")
    log.add("fail", 5.0)
    log.add("success", 3.0)  # logged late (clock set back)
    log.add("fail", 6.0)
    assert log.fails_in_row() == 2  # both failures are later than the success
