"""Where task records go besides the log repo: a file, a live Redis feed, alert e-mails.

Each output is a plain :class:`logging.Handler`; attach it to the ``skylaunch.task`` logger.
:class:`RedisStreamHandler` needs the ``skylaunch[redis]`` extra and is imported on first use,
so ``import skylaunch`` never imports redis.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from skylaunch.log.outputs.email import EmailHandler
from skylaunch.log.outputs.file import FileLogger

if TYPE_CHECKING:
    from skylaunch.log.outputs.redis import RedisStreamHandler

__all__ = ["EmailHandler", "FileLogger", "RedisStreamHandler"]


def __getattr__(name: str) -> Any:
    if name == "RedisStreamHandler":
        return importlib.import_module("skylaunch.log.outputs.redis").RedisStreamHandler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
