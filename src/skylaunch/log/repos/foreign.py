"""A foreign repo (anything with ``add`` and ``filter_by``, a Red Bird repo included) seen through
the one interface the rest of skylaunch uses: :class:`~skylaunch.log.repos.base.BaseRepo`.

:func:`as_store` wraps such a repo once, where it enters (the repo handler, the schema check,
start-up restore); past that point no code asks which kind of repo it has. The adapter asks
the foreign repo only what the duck-typed :class:`~skylaunch.log.repos.base.Repo` protocol
promises: ``add(item)``, and ``filter_by`` with plain equality (by task name when reading);
ordering, operators and limits are applied here. Updates and deletes go to the foreign
result's ``update``/``delete`` (Red Bird's), by equality only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from skylaunch.log._models import is_model_class
from skylaunch.log.query import Equal, Query
from skylaunch.log.repos.base import BaseRepo, Order, Repo, field_getter

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["ForeignRepo", "as_store"]


def _created(item: Any) -> float:
    value = field_getter(item)("created")
    if value is None:
        return float("-inf")
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


class ForeignRepo(BaseRepo[Any]):
    """A duck-typed repo behind the internal repo interface.

    ``model`` is the pydantic model items are built with (default: the repo's own ``model``
    attribute when it is one; else items are plain dicts).
    """

    writes_batches: ClassVar[bool] = False
    reads_by_index: ClassVar[bool] = False

    def __init__(self, repo: Repo, model: type[BaseModel] | None = None) -> None:
        if model is None:
            own = getattr(repo, "model", None)
            model = own if is_model_class(own) else None
        super().__init__(model)
        self.foreign = repo

    def __repr__(self) -> str:
        return repr(self.foreign)

    def insert_items(self, items: Sequence[Any]) -> None:
        for item in items:
            self.foreign.add(item)

    def _read(self, query: Query) -> list[Any]:
        pinned, task_name = query.equal_value("task_name")
        result = self.foreign.filter_by(task_name=task_name) if pinned else self.foreign.filter_by()
        return [item for item in result.all() if query.matches(field_getter(item))]

    def query_items(self, query: Query, *, order: Order, limit: int | None) -> Iterator[Any]:
        found = self._read(query)
        if order == "-created":
            found.reverse()  # newest insertion first among equal ``created``
        found.sort(key=_created, reverse=order == "-created")
        return iter(found if limit is None else found[:limit])

    def _equal_only(self, query: Query, what: str) -> dict[str, Any]:
        plain: dict[str, Any] = {}
        for name, oper in query:
            if not isinstance(oper, Equal):
                raise NotImplementedError(
                    f"{what} on {self.foreign!r}: a foreign repo is asked by equality only "
                    f"({name!r} has {type(oper).__name__})"
                )
            plain[name] = oper.value
        return plain

    def update_items(self, query: Query, values: Mapping[str, Any]) -> int:
        plain = self._equal_only(query, "update")
        count = len(self._read(query))
        if count:
            self.foreign.filter_by(**plain).update(**values)
        return count

    def delete_items(self, query: Query) -> int:
        plain = self._equal_only(query, "delete")
        count = len(self._read(query))
        if count:
            self.foreign.filter_by(**plain).delete()
        return count


def as_store(repo: Repo, model: type[BaseModel] | None = None) -> BaseRepo[Any]:
    """``repo`` itself when it is one of ours, else a :class:`ForeignRepo` around it."""
    if isinstance(repo, BaseRepo):
        return repo
    return ForeignRepo(repo, model)
