"""Where task records go besides the log repo: a file, a live Redis feed, alert e-mails.

Each output is a plain :class:`logging.Handler`; attach it to the ``skylaunch.task`` logger.
:class:`RedisStreamHandler` needs the ``skylaunch[redis]`` extra and is imported on first use,
so ``import skylaunch`` never imports redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skylaunch._lazy import lazy_attributes
from skylaunch.log.outputs.email import EmailHandler
from skylaunch.log.outputs.file import FileLogger

if TYPE_CHECKING:
    from skylaunch.log.outputs.redis import RedisStreamHandler

__all__ = ["EmailHandler", "FileLogger", "RedisStreamHandler"]


__getattr__ = lazy_attributes(__name__, {"RedisStreamHandler": "skylaunch.log.outputs.redis"})
