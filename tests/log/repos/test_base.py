"""check_log_repo: what set_repo refuses, and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from skylaunch.exc import RepoSchemaError
from skylaunch.log import CSVFileRepo, MemoryRepo, MinimalRecord, check_log_repo


def test_our_repos_with_task_records_pass(tmp_path: Path) -> None:
    check_log_repo(MemoryRepo(MinimalRecord))
    check_log_repo(MemoryRepo())  # dicts: nothing to check
    check_log_repo(CSVFileRepo(filename=tmp_path / "a.csv", model=MinimalRecord))


def test_missing_methods_are_named() -> None:
    with pytest.raises(TypeError, match=r"object object .* lacks add\(\), filter_by\(\)"):
        check_log_repo(object())


def test_missing_fields_are_named(tmp_path: Path) -> None:
    class Bare(BaseModel):
        action: str

    with pytest.raises(RepoSchemaError, match=r"model Bare.*\['task_name', 'created'\]"):
        check_log_repo(MemoryRepo(Bare))
    repo = CSVFileRepo(filename=tmp_path / "b.csv", fieldnames=["task_name", "created"])
    with pytest.raises(RepoSchemaError, match=r"\['action'\].*it has \['task_name', 'created'\]"):
        check_log_repo(repo)


def test_duck_repo_without_a_model_is_accepted() -> None:
    class Duck:
        model = dict

        def add(self, item: Any) -> None: ...

        def filter_by(self, **query: Any) -> Any: ...

    check_log_repo(Duck())
