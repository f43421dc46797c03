"""What a log repo is (the protocols) and what our backends share (the base classes).

Two layers, on purpose. :class:`Repo` and :class:`Result` are the duck-typed boundary: anything
with ``add`` and ``filter_by`` works, a Red Bird repo included, so a user's own store needs no
subclassing. :class:`BaseRepo` is what the shipped backends derive from: four storage methods
(``insert_items``, ``query_items``, ``update_items``, ``delete_items``) and everything else
(conversion, query parsing and checking, results) written once here.

Items are either plain dicts (``model=None``) or instances of a pydantic model. Ordering is by
the ``created`` field, ties broken by insertion order, so "the last record of a task" means the
same thing on every backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Literal,
    Protocol,
    TypeVar,
    runtime_checkable,
)

from skylaunch.exc import RepoSchemaError, RepoUnavailableError
from skylaunch.log._models import (
    TASK_RUN_FIELDS,
    TASK_RUN_RECORD,
    is_model,
    is_model_class,
    resolve,
)
from skylaunch.log.query import Query

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "REQUIRED_FIELDS",
    "BaseRepo",
    "BaseResult",
    "Order",
    "Repo",
    "Result",
    "check_log_repo",
    "field_getter",
    "trusted_fields_fill",
]

REQUIRED_FIELDS: tuple[str, ...] = ("task_name", "action", "created")
"""What every stored task record must have: the history is rebuilt from these three."""

R = TypeVar("R")
_RepoT = TypeVar("_RepoT", bound="BaseRepo[Any]")

Order = Literal["created", "-created"]
"""Ascending or descending ``created``; insertion order breaks ties in the same direction."""


@runtime_checkable
class Result(Protocol[R]):
    """The answer to ``filter_by``: nothing is read until a method asks for items."""

    def all(self) -> list[R]: ...
    def first(self) -> R | None: ...
    def last(self) -> R | None: ...
    def count(self) -> int: ...
    def update(self, **values: Any) -> Any: ...
    def delete(self) -> Any: ...


@runtime_checkable
class Repo(Protocol):
    """What the scheduler accepts as a log repo; a Red Bird repo satisfies it too."""

    def add(self, item: Any) -> Any: ...
    def filter_by(self, **query: Any) -> Any: ...


def check_log_repo(repo: object) -> None:
    """Refuse, with a message saying what is wrong, an object that cannot hold task records.

    Called when a repo is attached, so a mistake shows at start-up instead of at the first
    write or, worse, at the first restart. Checks what can be known without touching the
    storage: the two methods, and the record fields when the repo declares them (our repos'
    ``fields``; a pydantic ``model`` attribute otherwise).
    """
    missing_methods = [m for m in ("add", "filter_by") if not callable(getattr(repo, m, None))]
    if missing_methods:
        raise TypeError(
            f"a log repo needs add() and filter_by() methods; {type(repo).__name__} object "
            f"{repo!r} lacks {', '.join(m + '()' for m in missing_methods)}"
        )
    from skylaunch.log.repos.foreign import as_store  # it builds on this module

    assert isinstance(repo, Repo)  # its two methods were checked above
    store = as_store(repo)
    fields = store.fields
    if fields is None:
        return
    lacking = [name for name in REQUIRED_FIELDS if name not in fields]
    if lacking:
        what = f"{repo!r}" if store.model is None else f"{repo!r} (model {store.model.__name__})"
        raise RepoSchemaError(
            f"{what} cannot store task records: it lacks the field(s) {lacking}; task records "
            f"need {list(REQUIRED_FIELDS)} (it has {list(fields)})"
        )


def field_getter(item: Any) -> Callable[[str], Any]:
    """Read fields of a dict or an object alike; a missing field reads as ``None``."""
    if isinstance(item, Mapping):
        return item.get
    return lambda name: getattr(item, name, None)


def trusted_fields_fill(model: type[BaseModel] | None) -> bool:
    """Whether a lifecycle record's field dict, unvalidated, is a complete and correctly typed
    ``model`` (its other fields optional): the condition for :attr:`BaseRepo.takes_trusted`."""
    if model is None or model is TASK_RUN_RECORD:
        return True
    from skylaunch.log.records import MinimalRecord, TaskRunRecord

    if not issubclass(model, MinimalRecord):
        return False
    ours = TaskRunRecord.model_fields
    for name, info in model.model_fields.items():
        if name in ours:
            if info.annotation != ours[name].annotation:
                return False
        elif info.is_required():
            return False
    return True


class BaseRepo(ABC, Generic[R]):
    """The shared half of our backends.

    Subclasses implement the four storage methods below and may override :meth:`count` (and
    anything else) when the storage can answer faster. They raise
    :class:`~skylaunch.exc.RepoUnavailableError` (listed in :attr:`transient_errors`) when the
    storage cannot be reached for now, so writers know to retry instead of giving up.
    """

    transient_errors: ClassVar[tuple[type[BaseException], ...]] = (RepoUnavailableError,)
    """Exceptions after which the same write may succeed later (retried, buffered)."""

    writes_batches: ClassVar[bool] = True
    """Whether :meth:`insert_items` writes a batch at once (else writers send one at a time,
    so that one refused record does not take others with it)."""

    reads_by_index: ClassVar[bool] = True
    """Whether a narrow query (one task, one action, newest n) is cheaper than reading all of
    a task's records once: start-up restore then asks per action."""

    takes_trusted: bool = False
    """Whether :meth:`insert_items` also takes a scheduler's lifecycle record as the plain dict
    of its fields (the fields of :class:`~skylaunch.log.records.TaskRunRecord`, already of the
    right types) in place of an item: the writers skip building and validating a model for
    the two records of every run. Set by backends whose model those fields fill completely
    (see :func:`trusted_fields_fill`)."""

    def __init__(self, model: type[Any] | None = None, id_field: str | None = None) -> None:
        if model is dict:  # Red Bird's spelling of "no model"
            model = None
        if model is not None and model is not TASK_RUN_RECORD and not is_model_class(model):
            raise RepoSchemaError(
                f"model must be a pydantic BaseModel subclass or None (dict items); got {model!r}"
            )
        self._model: type[BaseModel] | None = model
        self.id_field = id_field

    @property
    def model(self) -> type[BaseModel] | None:
        """The pydantic model of the items, or ``None`` for plain dicts."""
        model = self._model
        if model is TASK_RUN_RECORD:  # the session's default repo: imported on first need
            self._model = model = resolve(model)
        return model

    @model.setter
    def model(self, model: type[BaseModel] | None) -> None:
        self._model = model

    # -- storage: what each backend writes ------------------------------------------------

    @abstractmethod
    def insert_items(self, items: Sequence[R]) -> None:
        """Store ``items`` (already converted by :meth:`to_item`) in order, as one batch.

        A batch is written completely or not at all where the storage allows it (SQL), so a
        retry after a failure never doubles records.
        """

    @abstractmethod
    def query_items(self, query: Query, *, order: Order, limit: int | None) -> Iterator[R]:
        """Items matching ``query`` in ``order``, at most ``limit`` of them (``None``: all).

        Implementations push ``order`` and ``limit`` down to the storage; the scheduler's
        "last record of a task" goes through here with ``limit=1``.
        """

    @abstractmethod
    def update_items(self, query: Query, values: Mapping[str, Any]) -> int:
        """Set ``values`` on every item matching ``query``; return how many changed."""

    @abstractmethod
    def delete_items(self, query: Query) -> int:
        """Remove every item matching ``query``; return how many were removed."""

    def query_values(
        self, query: Query, fields: Sequence[str], *, order: Order, limit: int | None
    ) -> Iterator[tuple[Any, ...]]:
        """Like :meth:`query_items`, but only ``fields`` of each item, as tuples.

        Start-up restore reads many records and needs three fields of each; backends override
        this to skip building model instances (SQL: selects only those columns).
        """
        for item in self.query_items(query, order=order, limit=limit):
            get = field_getter(item)
            yield tuple(get(name) for name in fields)

    def query_column(
        self, query: Query, field: str, *, order: Order, limit: int | None
    ) -> list[Any]:
        """One field of each matching item (restore reads ``created`` of many records)."""
        return [row[0] for row in self.query_values(query, (field,), order=order, limit=limit)]

    def count(self, query: Query) -> int:
        """How many items match; backends with a cheaper answer override this."""
        return sum(1 for _ in self.query_items(query, order="created", limit=None))

    # -- the public API ---------------------------------------------------------------------

    @property
    def fields(self) -> tuple[str, ...] | None:
        """The model's field names, or ``None`` when items are free-form dicts."""
        model = self._model
        if model is TASK_RUN_RECORD:
            return TASK_RUN_FIELDS
        return None if model is None else tuple(model.model_fields)

    def to_item(self, item: Any) -> R:
        """Convert what a caller gives (mapping or model) into what this repo stores."""
        model = self.model
        if model is None:
            if isinstance(item, Mapping):
                return dict(item)  # type: ignore[return-value]
            if is_model(item):
                return item.model_dump()  # type: ignore[return-value]
            raise TypeError(f"cannot store {type(item).__name__} {item!r}: expected a mapping")
        if type(item) is model:
            return item  # type: ignore[return-value]
        if is_model(item):
            item = item.model_dump()
        elif not isinstance(item, Mapping):
            raise TypeError(
                f"cannot store {type(item).__name__} {item!r}: expected a mapping "
                f"or a {model.__name__}"
            )
        return model.model_validate(item)  # type: ignore[return-value]

    def add(self, item: R | Mapping[str, Any]) -> None:
        """Store one item (validated against the model when there is one)."""
        self.insert_items([self.to_item(item)])

    def insert(self, items: Iterable[R | Mapping[str, Any]]) -> None:
        """Store many items in one batch (one transaction, one file write)."""
        batch = [self.to_item(item) for item in items]
        if batch:
            self.insert_items(batch)

    def parse_query(self, query: Mapping[str, Any]) -> Query:
        """Parse ``filter_by`` keywords, refusing fields the model does not have."""
        parsed = Query.from_kwargs(query)
        fields = self.fields
        if fields is not None:
            unknown = [name for name in parsed.fields if name not in fields]
            if unknown:
                raise RepoSchemaError(
                    f"cannot filter by {', '.join(map(repr, unknown))}: "
                    f"{self.model.__name__ if self.model else 'the model'} has fields "
                    f"{', '.join(fields)}"
                )
        return parsed

    def filter_by(self, **query: Any) -> BaseResult[R]:
        """Items whose fields match ``query`` (plain values or :mod:`skylaunch.log.query`
        operators); nothing is read until the result is asked for items."""
        return BaseResult(self, self.parse_query(query))

    def get_by(self, id: Any) -> R | None:
        """The item whose ``id_field`` equals ``id`` (Red Bird's ``get_by``)."""
        if self.id_field is None:
            raise TypeError(f"{type(self).__name__} has no id_field; filter_by a field instead")
        return self.filter_by(**{self.id_field: id}).first()

    def __iter__(self) -> Iterator[R]:
        return self.query_items(Query(), order="created", limit=None)

    def __len__(self) -> int:
        return self.count(Query())

    # -- resources ----------------------------------------------------------------------------

    def close(self) -> None:
        """Release what the repo holds open (connections of an engine it built itself).

        Safe to call more than once. Nothing the caller built is closed: an engine given to
        :class:`~skylaunch.log.repos.sql.SQLRepo` stays usable. A repo used after ``close()``
        opens what it needs again (a file repo reopens its file per write anyway); only an
        in-memory SQLite database is gone for good, since it lived in the closed connection.
        """

    def __enter__(self: _RepoT) -> _RepoT:  # noqa: PYI019 (typing.Self needs 3.11)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class BaseResult(Generic[R]):
    """A lazy view of the items that match a query; every call reads the repo afresh."""

    __slots__ = ("_query", "repo")

    def __init__(self, repo: BaseRepo[R], query: Query) -> None:
        self.repo = repo
        self._query = query

    @property
    def conditions(self) -> Query:
        return self._query

    def query(self) -> Iterator[R]:
        """Matching items, oldest first, read lazily where the backend allows it."""
        return self.repo.query_items(self._query, order="created", limit=None)

    def __iter__(self) -> Iterator[R]:
        return self.query()

    def all(self) -> list[R]:
        return list(self.query())

    def first(self) -> R | None:
        """The oldest match (smallest ``created``)."""
        return next(self.repo.query_items(self._query, order="created", limit=1), None)

    def last(self) -> R | None:
        """The newest match: ``ORDER BY created DESC LIMIT 1`` in SQL, an index lookup in memory."""
        return next(self.repo.query_items(self._query, order="-created", limit=1), None)

    def limit(self, n: int) -> list[R]:
        """The ``n`` oldest matches."""
        if n < 0:
            raise ValueError(f"limit must be >= 0; got {n!r}")
        return list(self.repo.query_items(self._query, order="created", limit=n))

    def newest(self, n: int) -> list[R]:
        """The ``n`` newest matches, newest first (restoring history reads these)."""
        if n < 0:
            raise ValueError(f"newest() takes n >= 0; got {n!r}")
        return list(self.repo.query_items(self._query, order="-created", limit=n))

    def count(self) -> int:
        return self.repo.count(self._query)

    def update(self, **values: Any) -> int:
        """Set fields on every match; returns how many items changed."""
        fields = self.repo.fields
        if fields is not None:
            unknown = [name for name in values if name not in fields]
            if unknown:
                raise RepoSchemaError(
                    f"cannot update {', '.join(map(repr, unknown))}: not fields of "
                    f"the repo's model (fields: {', '.join(fields)})"
                )
        return self.repo.update_items(self._query, values)

    def delete(self) -> int:
        """Remove every match; returns how many were removed."""
        return self.repo.delete_items(self._query)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.repo).__name__}, {self._query!r})"
