"""Log repositories: where task records are stored and read back.

``SQLRepo`` and ``RedisRepo`` are imported on first use, so SQLAlchemy and redis load only for
apps that use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skylaunch._lazy import lazy_attributes
from skylaunch.log.repos.base import BaseRepo, BaseResult, Order, Repo, Result
from skylaunch.log.repos.memory import MemoryRepo

if TYPE_CHECKING:
    from skylaunch.log.repos.csv import CSVFileRepo
    from skylaunch.log.repos.redis import RedisRepo
    from skylaunch.log.repos.sql import SQLRepo

__all__ = [
    "BaseRepo",
    "BaseResult",
    "CSVFileRepo",
    "MemoryRepo",
    "Order",
    "RedisRepo",
    "Repo",
    "Result",
    "SQLRepo",
]


__getattr__ = lazy_attributes(
    __name__,
    {
        "SQLRepo": "skylaunch.log.repos.sql",
        "CSVFileRepo": "skylaunch.log.repos.csv",
        "RedisRepo": "skylaunch.log.repos.redis",
    },
)
