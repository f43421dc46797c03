"""The journal's hot path (its handler alone on the task logger) against the general one.

Records taken by the hot path must be the ones the general path makes, and whatever user code
changes between two records (a handler, a filter, a level, the task's own logger, the repo, the
window) must be seen by the very next record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from skylaunch._journal import Journal
from skylaunch.log import MemoryRepo
from skylaunch.session import Session
from tests.test_journal import _Keep as Collect
from tests.test_journal import only_repo_handlers

T0 = datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)
TASK_LOGGER = "skylaunch.task"


@pytest.fixture(autouse=True)
def _quiet_loggers() -> Iterator[None]:
    """The task logger as a fresh process has it (no handler left by other tests' sessions, no
    level), restored afterwards; the root logger is emptied in each test (only_repo_handlers)."""
    logger = logging.getLogger(TASK_LOGGER)
    saved = (logger.handlers, logger.level, logger.disabled, logger.propagate, logger.filters)
    logger.handlers, logger.filters = [], []
    above = logging.getLogger("skylaunch")  # between the task logger and the root
    above_handlers, above.handlers = above.handlers, []
    logger.setLevel(logging.NOTSET)
    logger.disabled, logger.propagate = False, True
    try:
        yield
    finally:
        for handler in logger.handlers:
            handler.close()
        logger.handlers, level, logger.disabled, logger.propagate, logger.filters = saved
        logger.setLevel(level)
        above.handlers = above_handlers


def _records(session: Session) -> list[dict[str, Any]]:
    assert session.repo is not None
    return [r.model_dump() for r in session.repo.filter_by().all()]


def _history(session: Session, name: str) -> dict[str, Any]:
    log = session.history.of(name)
    times = {a: list(log.times(a)) for a in ("run", "success", "fail", "inaction", "crash")}
    return {
        "times": times,
        "last": (log.last_action, log.last_time),
        "running": dict(log.running),
        "fails_in_row": log.fails_in_row(),
    }


SCRIPT: list[tuple[str, str | None, int, int]] = [
    # action, run id, seconds after T0 (created), seconds after T0 (start)
    ("run", "r1", 0, 0),
    ("success", "r1", 1, 0),
    ("run", "r2", 2, 2),
    ("fail", "r2", 3, 2),
    ("run", "r3", 3, 3),  # the same instant as the fail before it
    ("fail", "r3", 3, 3),
    ("inaction", "r4", 4, 4),
    ("run", None, 5, 5),
    ("success", None, 6, 5),
    ("run", "r5", 1, 1),  # out of order (clock set back)
    ("crash", "r5", 2, 1),
]


def _play(session: Session) -> None:
    for action, run_id, at, start in SCRIPT:
        exc_text = "boom" if action == "fail" else None
        session.journal.record(
            "a",
            action,  # type: ignore[arg-type]
            run_id,
            T0 + timedelta(seconds=start),
            exc_text=exc_text,
            ts=(T0 + timedelta(seconds=at)).timestamp(),
        )


def test_hot_path_stores_and_indexes_what_the_general_path_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with only_repo_handlers():
        fast = Session()
        general: list[str] = []
        sole = Journal._sole_trusted_consumer

        def spy(logger: logging.Logger, handler: Any, level: int) -> bool:
            general.append(logger.name)
            return sole(logger, handler, level)

        monkeypatch.setattr(Journal, "_sole_trusted_consumer", staticmethod(spy))
        _play(fast)
        assert len(general) == 2  # only the two failures took the general path
        slow = Session()
        other = Collect()  # a second consumer: every record of `slow` goes through logging
        slow.task_logger.addHandler(other)
        try:
            _play(slow)
        finally:
            slow.task_logger.removeHandler(other)
        assert _records(fast) == _records(slow)
        assert _history(fast, "a") == _history(slow, "a")
        assert len(_records(fast)) == len(SCRIPT)


def test_a_handler_added_between_two_records_hears_the_next() -> None:
    with only_repo_handlers():
        session = Session()
        session.journal.record("a", "run", "r1", T0, ts=T0.timestamp())
        on_task, on_root = Collect(), Collect()
        session.task_logger.addHandler(on_task)
        root = logging.getLogger()
        root.addHandler(on_root)
        saved = root.level
        root.setLevel(logging.INFO)  # the application's level lets INFO records up
        try:
            session.journal.record("a", "success", "r1", T0, ts=T0.timestamp() + 1)
        finally:
            root.setLevel(saved)
        assert [r.action for r in on_task.records] == ["success"]  # type: ignore[attr-defined]
        assert [r.action for r in on_root.records if hasattr(r, "action")] == ["success"]  # type: ignore[attr-defined]
        session.task_logger.removeHandler(on_task)
        logging.getLogger().removeHandler(on_root)
        session.journal.record("a", "run", "r2", T0, ts=T0.timestamp() + 2)
        assert len(on_task.records) == 1
        assert [r["action"] for r in _records(session)] == ["run", "success", "run"]


def test_a_level_or_filter_set_between_two_records_applies_to_the_next() -> None:
    with only_repo_handlers():
        session = Session()
        logger = session.task_logger
        session.journal.record("a", "run", "r1", T0, ts=T0.timestamp())
        seen: list[str] = []

        def look(record: logging.LogRecord) -> bool:
            seen.append(record.action)  # type: ignore[attr-defined]
            return True

        logger.addFilter(look)
        try:
            session.journal.record("a", "success", "r1", T0, ts=T0.timestamp() + 1)
        finally:
            logger.removeFilter(look)
        assert seen == ["success"]
        saved = logger.level
        logger.setLevel(logging.WARNING)
        try:
            with pytest.warns(UserWarning, match="task records below it"):
                session.journal.record("a", "run", "r2", T0, ts=T0.timestamp() + 2)
        finally:
            logger.setLevel(saved)
        # the repo still has every record: the levels never keep the history from it
        assert [r["action"] for r in _records(session)] == ["run", "success", "run"]
        handler = session.journal.handler
        assert handler is not None
        handler.setLevel(logging.WARNING)  # the repo handler's own level filters, as in logging
        try:
            session.journal.record("a", "success", "r2", T0, ts=T0.timestamp() + 3)
        finally:
            handler.setLevel(logging.NOTSET)
        assert [r["action"] for r in _records(session)] == ["run", "success", "run"]
        assert session.history.of("a").last_action == "success"


def test_a_task_logger_of_its_own_set_between_two_records_gets_the_next() -> None:
    with only_repo_handlers():
        session = Session()
        session.create_task(func=lambda: None, name="a")
        session.journal.record("a", "run", "r1", T0, ts=T0.timestamp())
        own = Collect()
        routed = logging.getLogger(f"{TASK_LOGGER}.routed")
        routed.addHandler(own)
        try:
            session["a"].logger_name = routed.name
            session.journal.record("a", "success", "r1", T0, ts=T0.timestamp() + 1)
        finally:
            routed.removeHandler(own)
        assert [r.action for r in own.records] == ["success"]  # type: ignore[attr-defined]
        assert [r["action"] for r in _records(session)] == ["run", "success"]


def test_a_repo_swapped_between_two_records_takes_the_next() -> None:
    with only_repo_handlers():
        session = Session()
        session.journal.record("a", "run", "r1", T0, ts=T0.timestamp())
        other = MemoryRepo()
        session.set_repo(other)
        session.journal.record("a", "success", "r1", T0, ts=T0.timestamp() + 1)
        assert [r["action"] for r in other.filter_by().all()] == ["success"]


def test_a_memory_window_changed_at_runtime_applies_to_the_next_records() -> None:
    with only_repo_handlers():
        repo = MemoryRepo(max_per_task=100)
        session = Session()
        session.set_repo(repo)
        for n in range(50):
            session.journal.record("a", "run", f"r{n}", T0, ts=T0.timestamp() + n)
        repo.max_per_task = 16
        session.journal.record("a", "run", "last", T0, ts=T0.timestamp() + 50)
        kept = repo.filter_by(task_name="a").all()
        assert len(kept) == 16  # over 16 + 16 // 16: trimmed down to the window
        assert kept[-1]["run_id"] == "last"
        repo.max_per_task = None
        for n in range(60):
            session.journal.record("a", "run", f"s{n}", T0, ts=T0.timestamp() + 60 + n)
        assert len(repo.filter_by(task_name="a").all()) == 76


def test_a_logger_disabled_or_a_handler_above_set_between_two_records_applies_to_the_next() -> None:
    """logging.disable(), logger.disabled, a handler on a logger above, propagate: each read anew
    for every record; the repo gets every record whatever they say (the general path's rule)."""
    with only_repo_handlers():
        session = Session()
        logger = session.task_logger
        above = logging.getLogger("skylaunch")
        heard = Collect()
        ts = T0.timestamp()
        session.journal.record("a", "run", "r1", T0, ts=ts)  # the hot path
        above.addHandler(heard)
        above.setLevel(logging.INFO)  # the application lets INFO records up
        try:
            session.journal.record("a", "success", "r1", T0, ts=ts + 1)
            logger.propagate = False
            session.journal.record("a", "run", "r2", T0, ts=ts + 2)
            logger.propagate = True
            logging.disable(logging.INFO)
            try:
                with pytest.warns(UserWarning, match="task records below it"):
                    session.journal.record("a", "success", "r2", T0, ts=ts + 3)
            finally:
                logging.disable(logging.NOTSET)
            logger.disabled = True
            session.journal.record("a", "run", "r3", T0, ts=ts + 4)
            logger.disabled = False
            session.journal.record("a", "success", "r3", T0, ts=ts + 5)
        finally:
            above.removeHandler(heard)
            above.setLevel(logging.NOTSET)
        assert [(r.action, r.run_id) for r in heard.records] == [  # type: ignore[attr-defined]
            ("success", "r1"),
            ("success", "r3"),
        ]
        assert [(r["action"], r["run_id"]) for r in _records(session)] == [
            ("run", "r1"),
            ("success", "r1"),
            ("run", "r2"),
            ("success", "r2"),
            ("run", "r3"),
            ("success", "r3"),
        ]
