"""A base for small immutable value classes, written out instead of ``@dataclass``.

``@dataclass(frozen=True, slots=True)`` compiles half a dozen methods per class when the module
is imported, ~0.3-0.6 ms each class (bench W5: ``import skylaunch``). A subclass of
:class:`Frozen` declares ``__slots__``, ``_fields`` (the same names, in order) and an
``__init__`` that sets them with ``object.__setattr__``; it then compares, hashes, prints,
pickles and refuses assignment as the frozen dataclass did.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any, ClassVar

__all__ = ["Frozen"]


class Frozen:
    """Immutable, equal and hashed by class and fields, as ``@dataclass(frozen=True)`` made them."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

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
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._values())
