from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from pydantic import BaseModel

from skylaunch.log import RepoHandler
from skylaunch.log._models import TASK_RUN_FIELDS, TASK_RUN_RECORD, is_model, is_model_class
from skylaunch.log.records import MinimalRecord, TaskRunRecord
from skylaunch.log.repos.base import trusted_fields_fill
from skylaunch.log.repos.memory import MemoryRepo
from skylaunch.testing import simulated_app


def test_the_named_fields_are_task_run_records() -> None:
    assert tuple(TaskRunRecord.model_fields) == TASK_RUN_FIELDS


@pytest.mark.parametrize(
    "obj", [TaskRunRecord, MinimalRecord, BaseModel, dict, None, 1, "x", TASK_RUN_RECORD]
)
def test_the_checks_answer_as_isinstance_and_issubclass(obj: Any) -> None:
    assert is_model_class(obj) == (isinstance(obj, type) and issubclass(obj, BaseModel))
    assert is_model(obj) == isinstance(obj, BaseModel)
    record = TaskRunRecord(task_name="t", action="run", created=1.0, message="m")
    assert is_model(record)
    assert not is_model_class(record)


def test_without_pydantic_loaded_nothing_is_a_model() -> None:
    code = (
        "import sys\n"
        "from skylaunch.log._models import is_model, is_model_class\n"
        "assert not is_model_class(dict) and not is_model({})\n"
        "print('pydantic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert done.stdout.strip() == "False"


def test_the_default_repo_is_a_task_run_record_repo_before_and_after_the_import() -> None:
    app = simulated_app()
    repo = app.session.repo
    assert isinstance(repo, MemoryRepo)
    explicit = MemoryRepo(TaskRunRecord, max_per_task=repo.max_per_task)
    assert repr(repo) == repr(explicit)
    assert repo.fields == explicit.fields == TASK_RUN_FIELDS
    assert repo.takes_trusted is explicit.takes_trusted is trusted_fields_fill(TaskRunRecord)
    handler = app.session.journal.handler
    assert handler is not None
    assert handler.model is TaskRunRecord
    assert repo.model is TaskRunRecord
    assert repr(repo) == repr(explicit)


def test_a_handler_model_that_is_no_pydantic_model_means_none() -> None:
    class RedBirdLike:
        model = dict

        def add(self, item: Any) -> None: ...
        def filter_by(self, **query: Any) -> Any: ...

    assert RepoHandler(RedBirdLike()).model is None  # type: ignore[arg-type]
    assert RepoHandler(MemoryRepo(), model=TaskRunRecord).model is TaskRunRecord
    assert RepoHandler(MemoryRepo()).model is None
