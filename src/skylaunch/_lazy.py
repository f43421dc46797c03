"""Names a package exports but loads on first use (PEP 562), so ``import skylaunch`` stays cheap.

A package lists each lazy name with the module that defines it::

    __getattr__ = lazy_attributes(__name__, {"SQLRepo": "skylaunch.log.repos.sql"})

and imports the same names under ``TYPE_CHECKING`` for type checkers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``names[name]`` and returns its ``name``."""
    where = dict(names)

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
