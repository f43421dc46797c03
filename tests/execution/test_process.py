"""ProcessExecutor details the contract suite does not reach (the real-process probes of a
killed scheduler and of a script without a main guard are in tests/integration/)."""

from __future__ import annotations

import multiprocessing
import threading

import pytest

from skylaunch.execution import process
from skylaunch.execution._guard import NO_MAIN_GUARD_EXIT, refuse_start_while_bootstrapping
from skylaunch.execution.process import ProcessExecutor


class _Exited(Exception):
    pass


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)
        raise _Exited

    monkeypatch.setattr(process.os, "_exit", fake_exit)
    return codes


def test_refuse_start_does_nothing_in_a_process_that_is_not_bootstrapping(
    exits: list[int],
) -> None:
    refuse_start_while_bootstrapping()
    assert exits == []


def test_refuse_start_while_bootstrapping_explains_the_guard_and_exits(
    exits: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    current = multiprocessing.current_process()
    current._inheriting = True  # type: ignore[attr-defined]  # as multiprocessing's spawn sets it
    try:
        with pytest.raises(_Exited):
            refuse_start_while_bootstrapping()
    finally:
        del current._inheriting  # type: ignore[attr-defined]
    assert exits == [NO_MAIN_GUARD_EXIT]
    err = capsys.readouterr().err
    assert 'if __name__ == "__main__":' in err
    assert "Safe importing of main module" in err


def test_parent_death_signal_only_for_children_forked_from_the_main_thread() -> None:
    executor = ProcessExecutor()
    assert executor._deathsig_parent() == process.os.getpid()
    seen: list[int | None] = []
    thread = threading.Thread(target=lambda: seen.append(executor._deathsig_parent()))
    thread.start()
    thread.join()
    assert seen == [None]  # the signal would fire when this thread ends, not the scheduler


@pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="no forkserver here"
)
def test_no_parent_death_signal_for_forkserver_children() -> None:
    assert ProcessExecutor(start_method="forkserver")._deathsig_parent() is None
