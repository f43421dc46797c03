"""Query operators for ``repo.filter_by(field=operator)`` (Red Bird's names).

Operators are plain frozen values: each backend reads them (the memory repo calls
:meth:`Operator.matches`, the SQL repo translates them) instead of the operators knowing how
to format themselves for every backend. A :class:`Query` is the parsed form of the keyword
arguments, built once per ``filter_by`` call.

``None`` follows SQL's reading, so every backend answers alike: ordering operators and
``between`` never match a missing value, ``equal(None)`` matches it, ``not_equal(x)`` and
``in_`` treat ``None`` as an ordinary value (``IS DISTINCT FROM`` in SQL).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from skylaunch._frozen import Frozen

__all__ = [
    "Between",
    "Equal",
    "GreaterEqual",
    "GreaterThan",
    "In",
    "LessEqual",
    "LessThan",
    "NotEqual",
    "Operator",
    "Query",
    "Skip",
    "between",
    "equal",
    "greater_equal",
    "greater_than",
    "in_",
    "less_equal",
    "less_than",
    "not_equal",
    "skip",
]


class Operator(ABC):
    """A condition on one field's value."""

    __slots__ = ()

    @abstractmethod
    def matches(self, value: Any) -> bool:
        """Whether ``value`` (the item's field value, maybe ``None``) satisfies the operator."""


def _compare(value: Any, bound: Any, name: str) -> None:
    # Only reached for an incomparable pair: say which, instead of a bare TypeError.
    raise TypeError(
        f"{name}({bound!r}) cannot compare with the field value {value!r} "
        f"({type(value).__name__} vs {type(bound).__name__})"
    )


class _Frozen(Frozen, Operator):
    """An operator as a frozen value (see :class:`~skylaunch._frozen.Frozen`): the repos load
    this module at import."""

    __slots__ = ()


class _OneValue(_Frozen):
    """An operator on one value (``greater_than(3)``)."""

    __slots__ = ("value",)
    _fields = ("value",)
    value: Any

    def __init__(self, value: Any) -> None:
        object.__setattr__(self, "value", value)


class GreaterThan(_OneValue):
    __slots__ = ()

    def matches(self, value: Any) -> bool:
        if value is None:
            return False
        try:
            return bool(value > self.value)
        except TypeError:
            _compare(value, self.value, "greater_than")
            raise


class LessThan(_OneValue):
    __slots__ = ()

    def matches(self, value: Any) -> bool:
        if value is None:
            return False
        try:
            return bool(value < self.value)
        except TypeError:
            _compare(value, self.value, "less_than")
            raise


class GreaterEqual(_OneValue):
    __slots__ = ()

    def matches(self, value: Any) -> bool:
        if value is None:
            return False
        try:
            return bool(value >= self.value)
        except TypeError:
            _compare(value, self.value, "greater_equal")
            raise


class LessEqual(_OneValue):
    __slots__ = ()

    def matches(self, value: Any) -> bool:
        if value is None:
            return False
        try:
            return bool(value <= self.value)
        except TypeError:
            _compare(value, self.value, "less_equal")
            raise


class Equal(_OneValue):
    __slots__ = ()

    def matches(self, value: Any) -> bool:
        return bool(value == self.value)


class NotEqual(_OneValue):
    __slots__ = ()

    def matches(self, value: Any) -> bool:
        return bool(value != self.value)


class Between(_Frozen):
    """``start <= value <= end`` (both ends included, as Red Bird)."""

    __slots__ = ("end", "start")
    _fields = ("start", "end")
    start: Any
    end: Any

    def __init__(self, start: Any, end: Any) -> None:
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def matches(self, value: Any) -> bool:
        if value is None:
            return False
        try:
            return bool(self.start <= value <= self.end)
        except TypeError:
            _compare(value, (self.start, self.end), "between")
            raise


class In(_Frozen):
    __slots__ = ("values",)
    _fields = ("values",)
    values: tuple[Any, ...]

    def __init__(self, values: tuple[Any, ...]) -> None:
        object.__setattr__(self, "values", values)

    def matches(self, value: Any) -> bool:
        return value in self.values


class Skip(_Frozen):
    """Matches everything: a placeholder so callers can build queries without branching."""

    __slots__ = ()

    def matches(self, value: Any) -> bool:
        return True


def greater_than(value: Any) -> GreaterThan:
    return GreaterThan(value)


def less_than(value: Any) -> LessThan:
    return LessThan(value)


def greater_equal(value: Any) -> GreaterEqual:
    return GreaterEqual(value)


def less_equal(value: Any) -> LessEqual:
    return LessEqual(value)


def equal(value: Any) -> Equal:
    return Equal(value)


def not_equal(value: Any) -> NotEqual:
    return NotEqual(value)


skip = Skip()


def between(start: Any, end: Any, none_as_open: bool = False) -> Operator:
    """Both ends included. ``none_as_open=True`` reads a ``None`` end as unbounded."""
    if none_as_open:
        if start is None and end is None:
            return skip
        if end is None:
            return GreaterEqual(start)
        if start is None:
            return LessEqual(end)
    if start is None or end is None:
        raise ValueError(
            f"between({start!r}, {end!r}): an end is None; "
            "pass none_as_open=True to leave that side unbounded"
        )
    return Between(start, end)


def in_(values: Iterable[Any]) -> In:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"in_() takes a collection of values, not the string {values!r}")
    return In(tuple(values))


class Query(Frozen):
    """``filter_by`` keywords parsed once: each field with its operator (never :class:`Skip`)."""

    __slots__ = ("conditions",)
    _fields = ("conditions",)
    conditions: tuple[tuple[str, Operator], ...]

    def __init__(self, conditions: tuple[tuple[str, Operator], ...] = ()) -> None:
        object.__setattr__(self, "conditions", conditions)

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> Query:
        """A plain value means equality; a :class:`Skip` drops the field."""
        conditions: list[tuple[str, Operator]] = []
        for field, value in kwargs.items():
            oper = value if isinstance(value, Operator) else Equal(value)
            if not isinstance(oper, Skip):
                conditions.append((field, oper))
        return cls(tuple(conditions))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(field for field, _ in self.conditions)

    def __iter__(self) -> Iterator[tuple[str, Operator]]:
        return iter(self.conditions)

    def __bool__(self) -> bool:
        return bool(self.conditions)

    def equal_value(self, field: str) -> tuple[bool, Any]:
        """``(True, v)`` when the query pins ``field`` to the single value ``v``."""
        for name, oper in self.conditions:
            if name == field and isinstance(oper, Equal):
                return True, oper.value
        return False, None

    def matches(self, get: Callable[[str], Any]) -> bool:
        """Whether an item whose field values ``get(name)`` returns satisfies every condition."""
        return all(oper.matches(get(field)) for field, oper in self.conditions)
