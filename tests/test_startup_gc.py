"""The ``startup_gc`` setting: a garbage collection between start-up and the first pass.

A repo written in the background (SQL, Redis, CSV) has imported its driver by the time the
scheduler starts, which makes CPython's next full collection due; without this it ran in the
loop's first seconds (bench W6: the loop's longest stall, 20-60 ms on PostgreSQL).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from skylaunch import App
from skylaunch._journal import Journal
from skylaunch.conds import true
from skylaunch.config import Config
from skylaunch.exc import ConfigError
from skylaunch.log import MinimalRunRecord

SRC = Path(__file__).resolve().parents[1] / "src"


class _RecordingGC:
    """Stands in for the ``gc`` module where the scheduler calls it."""

    def __init__(self, events: list[str]) -> None:
        self.events = events

    def collect(self, generation: int = 2) -> int:
        self.events.append(f"collect({generation})")
        return 0

    def freeze(self) -> None:
        self.events.append("freeze")


def _run_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repo: str, **config: Any
) -> list[str]:
    """What happens, in order, from the history's restore to the first run."""
    events: list[str] = []
    # the scheduler imports gc where it collects: it finds this one
    monkeypatch.setitem(sys.modules, "gc", _RecordingGC(events))
    restore = Journal.restore

    def restored(self: Journal, task_names: Any = None) -> None:
        restore(self, task_names)
        if task_names is None:
            events.append("restore")

    monkeypatch.setattr(Journal, "restore", restored)
    kwargs: dict[str, Any] = {}
    if repo == "sqlite":
        from skylaunch.log.repos.sql import SQLRepo

        kwargs["logger_repo"] = SQLRepo(
            model=MinimalRunRecord,
            conn_string=f"sqlite:///{tmp_path / 'records.db'}",
            table="records",
            if_missing="create",
        )
    app = App(config={"execution": "main", **config}, **kwargs)

    @app.task(true)
    def once() -> None:
        events.append("run")
        app.session.shut_down()

    try:
        app.run()
    finally:
        if "logger_repo" in kwargs:
            app.session.flush_logs(10.0)
            kwargs["logger_repo"].close()
    return events


def test_a_sql_repo_gets_a_full_collection_after_the_restore_and_before_the_first_pass(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert _run_once(monkeypatch, tmp_path, "sqlite") == ["restore", "collect(2)", "run"]


def test_the_memory_repo_gets_none_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # bench W5 (10,000 tasks, memory repo): a collection would add to the cold start
    assert _run_once(monkeypatch, tmp_path, "memory") == ["restore", "run"]


@pytest.mark.parametrize(
    ("repo", "setting", "expected"),
    [
        ("sqlite", "off", ["restore", "run"]),
        ("sqlite", "collect", ["restore", "collect(2)", "run"]),
        ("sqlite", "freeze", ["restore", "collect(2)", "freeze", "run"]),
        ("memory", "auto", ["restore", "run"]),
        ("memory", "collect", ["restore", "collect(2)", "run"]),
        ("memory", "freeze", ["restore", "collect(2)", "freeze", "run"]),
        ("memory", "off", ["restore", "run"]),
    ],
)
def test_the_setting_says_what_is_done(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repo: str, setting: str, expected: list[str]
) -> None:
    assert _run_once(monkeypatch, tmp_path, repo, startup_gc=setting) == expected


def test_the_setting_is_validated() -> None:
    assert Config.build().startup_gc == "auto"
    assert Config.build({"startup_gc": "freeze"}).startup_gc == "freeze"
    with pytest.raises(ConfigError) as info:
        Config.build({"startup_gc": "always"})
    assert info.value.key == "startup_gc"
    config = Config.build()
    with pytest.raises(ConfigError):
        config.set("startup_gc", True)
    assert config.startup_gc == "auto"


_CHILD = textwrap.dedent(
    """
    import gc, json, sys, tempfile
    from skylaunch import App
    from skylaunch.conds import true
    from skylaunch.log import MinimalRunRecord
    from skylaunch.log.repos.sql import SQLRepo

    folder = tempfile.TemporaryDirectory()
    repo = SQLRepo(
        model=MinimalRunRecord, conn_string=f"sqlite:///{folder.name}/r.db",
        table="records", if_missing="create",
    )
    config = {"execution": "main"}
    if sys.argv[1] != "default":
        config["startup_gc"] = sys.argv[1]
    app = App(logger_repo=repo, config=config)
    events = []
    gc.collect()  # whatever the imports made due is done with: what follows is the start's
    gc.callbacks.append(
        lambda phase, info: events.append("full")
        if phase == "start" and info["generation"] == 2 else None
    )

    @app.task(true)
    def once():
        events.append("run")
        events.append(gc.get_freeze_count() > 0)
        app.session.shut_down()

    app.run()
    gc.callbacks.clear()
    app.session.flush_logs(10.0)
    repo.close()
    print(json.dumps(events))
    """
)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("default", ["full", "run", False]),
        ("off", ["run", False]),
        ("freeze", ["full", "run", True]),
    ],
)
def test_the_real_collector_runs_before_the_first_run(setting: str, expected: list[Any]) -> None:
    # In a child process: a freeze is for the whole process.
    env = dict(os.environ, PYTHONPATH=str(SRC))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, setting],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout.splitlines()[-1]) == expected
