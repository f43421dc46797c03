"""``task.logger``: a logger adapter that also reads the task's records from the session's repo."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skylaunch.session import Session

__all__ = ["TaskAdapter"]


class TaskAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Log as the task (records carry ``task_name``) and query its history in the repo.

    ``filter_by(**query)`` is the repo's ``filter_by`` with ``task_name`` filled in, so
    ``task.logger.filter_by(action="run").all()`` lists the task's runs as stored. With
    ``task_name=None`` (what ``Session.get_task_loggers`` gives) it reads every task's records.
    ``logger`` is the logger it wraps: the session's task logger unless given (a task with its
    own ``logger_name``). Records are read from the session's repo whichever it is.
    """

    def __init__(
        self, session: Session, task_name: str | None, *, logger: logging.Logger | None = None
    ) -> None:
        if logger is None:
            logger = logging.getLogger(session.config.task_logger_basename)
        super().__init__(logger, {"task_name": task_name})
        self.session = session
        self.task_name = task_name

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(kwargs.get("extra") or {}), "task_name": self.task_name}
        return msg, kwargs

    def handle(self, record: logging.LogRecord) -> None:
        """Take a ready-made record, as ``Logger.handle`` does (Rocketry's tests seed history so).

        A record with a lifecycle ``action`` (run, success, fail...) is recorded as the
        scheduler records one: into the history conditions read, then through the task logger
        to the repo, at its ``created`` instant, with its ``run_id`` and ``start`` if it has
        them (the task is the record's ``task_name``, else this adapter's). Any other record
        goes to the wrapped logger's handlers.
        """
        action = getattr(record, "action", None)
        task_name = getattr(record, "task_name", None) or self.task_name
        if action is None or task_name is None:
            self.logger.handle(record)
            return
        self.session.handle_record(record, task_name)

    def filter_by(self, **query: Any) -> Any:
        if self.task_name is None:
            return self.session.repo.filter_by(**query)
        return self.session.repo.filter_by(task_name=self.task_name, **query)

    def get_records(self, **query: Any) -> list[Any]:
        return list(self.filter_by(**query).all())

    def get_latest(self, action: str | None = None) -> Any:
        query = {} if action is None else {"action": action}
        return self.filter_by(**query).last()

    def set_repo(self, repo: Any) -> None:
        self.session.set_repo(repo)

    @property
    def is_readable(self) -> bool:
        return hasattr(self.session.repo, "filter_by")
