"""Task records, the repos that store them and the handler that writes them.

``SQLRepo`` is imported on first use, so SQLAlchemy loads only for apps that use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skylaunch._lazy import lazy_attributes
from skylaunch.history import Action
from skylaunch.log.handler import RepoHandler
from skylaunch.log.query import (
    Query,
    between,
    equal,
    greater_equal,
    greater_than,
    in_,
    less_equal,
    less_than,
    not_equal,
    skip,
)
from skylaunch.log.repos import BaseRepo, BaseResult, MemoryRepo, Repo, Result
from skylaunch.log.repos.base import check_log_repo

if TYPE_CHECKING:
    from skylaunch.log.records import (
        LogRecord,
        MinimalRecord,
        MinimalRunRecord,
        RunRecord,
        TaskLogRecord,
        TaskRunRecord,
    )
    from skylaunch.log.repos.csv import CSVFileRepo
    from skylaunch.log.repos.redis import RedisRepo
    from skylaunch.log.repos.sql import SQLRepo

__all__ = [
    "Action",
    "BaseRepo",
    "BaseResult",
    "CSVFileRepo",
    "LogRecord",
    "MemoryRepo",
    "MinimalRecord",
    "MinimalRunRecord",
    "Query",
    "RedisRepo",
    "Repo",
    "RepoHandler",
    "Result",
    "RunRecord",
    "SQLRepo",
    "TaskLogRecord",
    "TaskRunRecord",
    "between",
    "check_log_repo",
    "equal",
    "greater_equal",
    "greater_than",
    "in_",
    "less_equal",
    "less_than",
    "not_equal",
    "skip",
]


__getattr__ = lazy_attributes(
    __name__,
    {
        "SQLRepo": "skylaunch.log.repos.sql",
        "CSVFileRepo": "skylaunch.log.repos.csv",
        "RedisRepo": "skylaunch.log.repos.redis",
        # the record models are pydantic models: pydantic loads when one is first used
        **dict.fromkeys(
            (
                "LogRecord",
                "MinimalRecord",
                "MinimalRunRecord",
                "RunRecord",
                "TaskLogRecord",
                "TaskRunRecord",
            ),
            "skylaunch.log.records",
        ),
    },
)
