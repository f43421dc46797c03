"""Log repositories: where task records are stored and read back.

``SQLRepo`` is imported on first use, so SQLAlchemy loads only for apps that use it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from skylaunch.log.repos.base import BaseRepo, BaseResult, Order, Repo, Result
from skylaunch.log.repos.memory import MemoryRepo

if TYPE_CHECKING:
    from skylaunch.log.repos.csv import CSVFileRepo
    from skylaunch.log.repos.sql import SQLRepo

__all__ = [
    "BaseRepo",
    "BaseResult",
    "CSVFileRepo",
    "MemoryRepo",
    "Order",
    "Repo",
    "Result",
    "SQLRepo",
]


def __getattr__(name: str) -> Any:
    if name == "SQLRepo":
        return importlib.import_module("skylaunch.log.repos.sql").SQLRepo
    if name == "CSVFileRepo":
        return importlib.import_module("skylaunch.log.repos.csv").CSVFileRepo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
