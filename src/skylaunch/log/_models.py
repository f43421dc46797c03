"""pydantic when it is loaded, and the default record model named without loading it.

``import skylaunch``, ``App(...)`` and a first pass with the default in-memory repo do not import
pydantic (bench W5). Before pydantic is imported no object can be a pydantic model, so the type
checks below answer without importing it; the default repo's model,
:class:`~skylaunch.log.records.TaskRunRecord`, is named by :data:`TASK_RUN_RECORD` and imported
when something reads the repo's ``model`` (a record read back as a model, a repr...).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Final, TypeGuard

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__: list[str] = []


def is_model_class(obj: object) -> TypeGuard[type[BaseModel]]:
    """Whether ``obj`` is a pydantic model class (``issubclass(obj, BaseModel)``)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(obj, type) and issubclass(obj, pydantic.BaseModel)


def is_model(obj: object) -> TypeGuard[BaseModel]:
    """Whether ``obj`` is a pydantic model instance (``isinstance(obj, BaseModel)``)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(obj, pydantic.BaseModel)


class _TaskRunRecord:
    """The marker of the deferred :class:`~skylaunch.log.records.TaskRunRecord`."""

    __name__ = "TaskRunRecord"

    def __repr__(self) -> str:
        return "<TaskRunRecord, imported on first use>"


TASK_RUN_RECORD: Final[Any] = _TaskRunRecord()
"""``model=`` of the session's default repo: TaskRunRecord, imported when first needed."""

TASK_RUN_FIELDS: Final = (
    "task_name",
    "action",
    "created",
    "start",
    "end",
    "runtime",
    "message",
    "exc_text",
    "run_id",
)
"""The fields of :class:`~skylaunch.log.records.TaskRunRecord`, in order (a test checks)."""


def resolve(model: Any) -> Any:
    """``model`` itself, or TaskRunRecord for :data:`TASK_RUN_RECORD`."""
    if model is TASK_RUN_RECORD:
        from skylaunch.log.records import TaskRunRecord

        return TaskRunRecord
    return model
