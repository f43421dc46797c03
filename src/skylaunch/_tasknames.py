"""One answer to "which task does this refer to?" for conditions, arguments and lookups.

Rocketry lets a condition or ``Return`` name a task by its name, by the task object or by the
function the task was made from (``after_success(fetch)``). A task given ``name=`` is not named
after its function, so the function has to be mapped to its task: :class:`FuncTask` registers
each function it wraps here, and :func:`task_name` reads that before falling back on the
function's ``__name__`` (for a task defined later, which then must carry that name).
"""

from __future__ import annotations

import types
import weakref
from typing import Any

__all__ = ["TaskKeyed", "optional_task_name", "quoted", "register", "task_name", "unregister"]

# function -> the names of the tasks made from it (usually one), in the order they were made;
# a dict as an ordered set: one function may back thousands of tasks (bench W5 defines 10,000
# from one function, and a list's membership test made that quadratic)
_BY_FUNC: weakref.WeakKeyDictionary[Any, dict[str, None]] = weakref.WeakKeyDictionary()


#: The plain function registered last and its entry in _BY_FUNC: (weak reference, names).
#: Tasks are mostly defined one function at a time (W5: 10,000 from one), and a look-up in
#: _BY_FUNC makes a weak reference each time. Plain functions only: they are equal to
#: themselves alone, so the entry lives exactly as long as the function.
_LAST: tuple[weakref.ref[Any], dict[str, None]] | None = None


def register(func: object, name: str) -> None:
    """Remember that the task ``name`` runs ``func`` (no-op for objects without weak refs)."""
    global _LAST
    last = _LAST
    if last is not None and last[0]() is func:
        last[1][name] = None
        return
    try:
        # get first: setdefault makes a weak reference with a callback on every call
        names = _BY_FUNC.get(func)
        if names is None:
            names = _BY_FUNC.setdefault(func, {})
    except TypeError:
        return
    if type(func) is types.FunctionType:
        _LAST = (weakref.ref(func), names)
    names[name] = None


def unregister(func: object, name: str) -> None:
    """Forget that the task ``name`` runs ``func`` (the task was removed or renamed)."""
    try:
        names = _BY_FUNC.get(func)
    except TypeError:
        return
    if names:
        names.pop(name, None)


def task_name(task: object) -> str:
    """The name of the task ``task`` refers to: a name, a task, or a task's function.

    Raises ``TypeError`` for anything else, and when one function backs tasks of different
    names (give the name instead).
    """
    if isinstance(task, str):
        return task
    try:
        names = _BY_FUNC.get(task)
    except TypeError:
        names = None
    if names:
        if len(names) > 1:
            raise TypeError(
                f"{task!r} is the function of several tasks ({', '.join(map(repr, names))}); "
                "refer to the task by its name"
            )
        return next(iter(names))
    name = getattr(task, "name", None)  # a Task
    if isinstance(name, str):
        return name
    func_name = getattr(task, "__name__", None)
    if not isinstance(func_name, str):
        raise TypeError(f"a task name (str), task or task function is needed, got {task!r}")
    return func_name


def refuse_empty(name: str | None) -> None:
    """Raise ``ValueError`` for ``""``: no task has an empty name, and a condition read an
    empty one as "the condition's own task" (``None`` is that)."""
    if name == "":
        raise ValueError(
            "a task name is not empty: name the task, or give none (task=None) for the "
            "condition's own task"
        )


def condition_task(task: object) -> str | None:
    """:func:`optional_task_name` for a condition's task field, refusing ``""``
    (:func:`refuse_empty`)."""
    if task is None:
        return None
    name = task_name(task)
    refuse_empty(name)
    return name


def optional_task_name(task: object) -> str | None:
    """:func:`task_name`, with ``None`` (no task: the condition's own) passed through."""
    return None if task is None else task_name(task)


def quoted(name: str) -> str:
    """``name`` quoted as the condition grammar reads it back (``"`` if it holds a ``'``)."""
    return '"' + name + '"' if "'" in name else "'" + name + "'"


class TaskKeyed(dict[str, Any]):
    """A dict keyed by task name that also takes the task or its function as the key.

    ``session.returns[fetch_task]``, ``session.returns[fetch]`` and ``session.returns["fetch"]``
    read the same value, as in Rocketry. Stored keys are always names.
    """

    @staticmethod
    def _key(key: object) -> Any:
        if isinstance(key, str):
            return key
        try:
            return task_name(key)
        except TypeError:
            return key

    def __getitem__(self, key: object) -> Any:
        return super().__getitem__(self._key(key))

    def __setitem__(self, key: object, value: Any) -> None:
        super().__setitem__(self._key(key), value)

    def __delitem__(self, key: object) -> None:
        super().__delitem__(self._key(key))

    def __contains__(self, key: object) -> bool:
        return super().__contains__(self._key(key))

    def get(self, key: object, default: Any = None) -> Any:
        return super().get(self._key(key), default)
