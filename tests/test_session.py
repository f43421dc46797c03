"""Session: run ids (the journal's tests cover the repo and the history it reads back)."""

from __future__ import annotations

import pytest

from skylaunch.session import Session


def test_run_ids_are_unique_hex_across_sessions_and_restarts() -> None:
    first = Session()
    task = first.create_task(func=lambda: None, name="t")
    ids = [first.new_run_id(task, {}) for _ in range(1000)]
    again = Session()  # a restarted process makes a new session: a new random prefix
    ids += [again.new_run_id(task, {}) for _ in range(1000)]
    assert len(set(ids)) == 2000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids[0][:16] != ids[1000][:16]


def test_a_forked_child_does_not_repeat_the_parents_run_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session = Session()
    task = session.create_task(func=lambda: None, name="t")
    parent = session.new_run_id(task, {})
    monkeypatch.setattr("skylaunch.session.os.getpid", lambda: -1)
    child = session.new_run_id(task, {})
    assert child[:16] != parent[:16]
    assert child.endswith("0" * 16)
