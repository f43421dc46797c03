"""A base for small immutable value classes, written out instead of ``@dataclass``.

``@dataclass(frozen=True, slots=True)`` compiles half a dozen methods per class when the module
is imported, ~0.3-0.6 ms each class (bench W5: ``import skylaunch``). A subclass of
:class:`Frozen` declares ``__slots__``, ``_fields`` (the same names, in the order of the
dataclass's fields) and an ``__init__`` that sets them with ``object.__setattr__``; it then
compares, hashes, prints, pickles, copies and refuses assignment as the frozen dataclass did,
and matches by position (``__match_args__`` is ``_fields`` unless the class declares its own).
``dataclasses`` itself is imported only when an assignment is refused, for its
``FrozenInstanceError``.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["Frozen"]


class Frozen:
    """Immutable, equal and hashed by class and fields, as ``@dataclass(frozen=True)`` made them."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_fields" in cls.__dict__ and "__match_args__" not in cls.__dict__:
            cls.__match_args__ = cls._fields  # type: ignore[attr-defined,misc]

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def _replace(self, **changes: Any) -> Any:
        """A copy with ``changes`` made through ``__init__``, as ``dataclasses.replace`` did."""
        given = {name: getattr(self, name) for name in self._fields}
        given.update(changes)
        return type(self)(**given)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({fields})"

    def __setattr__(self, name: str, value: Any) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")

    # Pickles and copies as the slotted frozen dataclass's: the field values as a list, set back
    # without calling __init__ (a pickle of the dataclass loads as the written-out class).
    def __getstate__(self) -> list[Any]:
        return [getattr(self, name) for name in self._fields]

    def __setstate__(self, state: list[Any]) -> None:
        for name, value in zip(self._fields, state, strict=False):
            object.__setattr__(self, name, value)
