"""The condition protocol, its evaluation context and the logic combinators.

A condition is an immutable value that says whether something holds at an instant
(:meth:`Condition.is_true`) and, just as important for an event-driven scheduler, the earliest
future instant at which that answer may change without any task event
(:meth:`Condition.next_change`). ``&``, ``|`` and ``~`` build :class:`All`, :class:`Any` and
:class:`Not`; ``str(cond)`` prints the string syntax that parses back to an equal condition.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, ClassVar, Protocol

from skylaunch._frozen import Frozen
from skylaunch.history import TaskHistory, TaskLog
from skylaunch.time.periods import naive_zone

if TYPE_CHECKING:
    from skylaunch.session import Session
    from skylaunch.tasks.base import Task

__all__ = [
    "EVERY_PASS",
    "All",
    "AlwaysFalse",
    "AlwaysTrue",
    "Any",
    "Condition",
    "Context",
    "Facts",
    "Not",
    "false",
    "instant_from",
    "label",
    "normal_form",
    "true",
]

#: Put in :meth:`Condition.watches` by conditions that read scheduler state (cycle counts):
#: the scheduler then looks at them on every pass it makes.
EVERY_PASS = "<every pass>"

#: Condition classes whose answer at some instants depends on the clock alone, each with a
#: function ``(cond, now) -> (when,) | None`` for an aware ``now``: ``(when,)`` says that ``cond``
#: is false at ``now`` whatever any history holds and next changes at ``when`` (``None``: never),
#: as ``is_true`` and ``next_change`` would say; ``None`` says that the answer may depend on more
#: (then ask those). Exact classes only: a subclass may answer otherwise. The scheduler asks once
#: per condition and instant in a pass, so thousands of tasks sharing ``daily.at("03:00")``
#: compute the day's window once (bench W5).
_CLOCK_FALSE: dict[type[Condition], Callable[..., tuple[datetime | None] | None]] = {}
#: Classes whose ``watches(own)`` is ``{own}`` when their ``task`` field is None (``daily``,
#: ``every``...): the scheduler indexes a task with such a condition without calling it.
_WATCH_OWN_TASK: set[type[Condition]] = set()


class Facts(Protocol):
    """What conditions read besides the instant and the task; the session supplies one.

    ``cycles`` and ``started_at`` are the scheduler's (its passes so far, when it started);
    ``session`` is there only for what needs the session object itself: a function
    condition's argument parameters (``session=Session()``) and conditions of your own
    written against Rocketry's ``ctx.session``.
    """

    @property
    def history(self) -> TaskHistory: ...

    @property
    def parameters(self) -> Mapping[str, object]: ...

    @property
    def poll_interval_s(self) -> float: ...

    @property
    def cycles(self) -> int: ...

    @property
    def started_at(self) -> datetime | None: ...

    @property
    def session(self) -> Session: ...

    @property
    def cond_facts(self) -> Facts:
        """The facts themselves (a session has the same attribute: its facts)."""
        ...


class _HasFacts(Protocol):
    @property
    def cond_facts(self) -> Facts: ...


class Context:
    """Everything a condition may look at: one instant, the session's facts, maybe one task.

    ``facts`` is what the session supplies (:class:`Facts`); a session itself is accepted too
    (``Context(now, session, task)``) and stands for its facts. A plain slotted class, not a
    frozen dataclass: one is made per task per pass, and the frozen ``__init__``
    (``object.__setattr__`` per field) was a visible share of a trivial run's cost (bench W3).
    Treat it as read-only; make a new one for another instant.
    """

    __slots__ = ("facts", "now", "task")

    def __init__(self, now: datetime, facts: _HasFacts, task: Task | None = None) -> None:
        self.now = now
        self.facts = facts.cond_facts
        self.task = task

    def __repr__(self) -> str:
        return f"Context(now={self.now!r}, facts={self.facts!r}, task={self.task!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Context):
            return NotImplemented
        return (self.now, self.facts, self.task) == (other.now, other.facts, other.task)

    def __hash__(self) -> int:
        return hash((self.now, self.facts, self.task))

    @property
    def ts(self) -> float:
        return self.now.timestamp()

    @property
    def history(self) -> TaskHistory:
        return self.facts.history

    @property
    def parameters(self) -> Mapping[str, object]:
        """The session's parameters (``app.params(...)``)."""
        return self.facts.parameters

    @property
    def cycles(self) -> int:
        """How many passes the scheduler has made since it started."""
        return self.facts.cycles

    @property
    def started_at(self) -> datetime | None:
        """When the scheduler started (None before it has)."""
        return self.facts.started_at

    @property
    def session(self) -> Session:
        """The session, for what needs the object itself (see :class:`Facts`)."""
        return self.facts.session

    def log_of(self, task_name: str | None) -> TaskLog:
        """The history of ``task_name``, or of the task being evaluated when ``None``."""
        if task_name is None:
            if self.task is None:
                raise ValueError("this condition needs a task: pass task=... or name one")
            task_name = self.task.name
        return self.facts.history.of(task_name)

    def task_name(self, task_name: str | None) -> str:
        if task_name is not None:
            return task_name
        if self.task is None:
            raise ValueError("this condition needs a task: pass task=... or name one")
        return self.task.name

    @property
    def poll_deadline(self) -> datetime:
        """When an opaque condition must be looked at again (``cycle_sleep``, floored)."""
        return datetime.fromtimestamp(self.ts + self.facts.poll_interval_s, self.now.tzinfo)


class Condition(ABC):
    """A statement that is true or false at an instant. Immutable, hashable, printable.

    A subclass written for Rocketry, with ``get_state(self)`` (or ``get_state(self, task=...,
    session=...)``) instead of :meth:`is_true`, works as is: ``get_state`` is called with the
    task and session it names, and the condition is looked at every ``cycle_sleep``.
    """

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        get_state = cls.__dict__.get("get_state")
        if get_state is not None and "is_true" not in cls.__dict__:
            cls.is_true = _from_get_state(get_state)  # type: ignore[method-assign,assignment]

    @abstractmethod
    def is_true(self, ctx: Context) -> bool:
        """Value at ``ctx.now``. Reads ``ctx.history`` only; never the repo or the wall clock."""

    def next_change(self, ctx: Context) -> datetime | None:
        """Earliest instant after ``ctx.now`` at which ``is_true`` may flip without a task event.

        ``None`` means only task events (or scheduler passes, see :meth:`watches`) change it.
        The default is the safe one for opaque conditions: look again after the poll interval.
        """
        return ctx.poll_deadline

    def watches(self, own: str | None) -> frozenset[str]:
        """Names of the tasks whose actions may change this condition's value.

        ``own`` is the task the condition belongs to (``None`` when it has none).
        :data:`EVERY_PASS` asks to be evaluated on every scheduler pass.
        """
        return frozenset()

    def observe(self, task: Task | str | None = None, session: Session | None = None) -> bool:
        """Evaluate now, as Rocketry's ``observe`` does (for tests and interactive use)."""
        if session is None:
            if task is None or isinstance(task, str):
                raise TypeError("observe() needs session=..., or a Task object as task=...")
            session = task.session
        if isinstance(task, str):
            task = session[task]
        with naive_zone(session.clock):  # naive datetimes in its periods: the session's zone
            return self.is_true(Context(session.clock.now(), session.cond_facts, task))

    def get_cond(self) -> Condition:
        """The condition itself: Rocketry's API objects (``daily``, ``failed``...) were
        wrappers whose ``get_cond()`` gave the condition; here they are conditions already."""
        return self

    def __and__(self, other: object) -> Condition:
        return All.of(self, _check(other, "&"))

    def __rand__(self, other: object) -> Condition:
        return All.of(_check(other, "&"), self)

    def __or__(self, other: object) -> Condition:
        return Any.of(self, _check(other, "|"))

    def __ror__(self, other: object) -> Condition:
        return Any.of(_check(other, "|"), self)

    def __invert__(self) -> Condition:
        return Not(self)

    def __bool__(self) -> bool:
        raise TypeError(
            "a condition has no truth value: combine conditions with &, | and ~ "
            "(not 'and', 'or', 'not') and evaluate one with .observe() or is_true(ctx)"
        )


def _from_get_state(get_state: Callable[..., object]) -> Callable[[Condition, Context], bool]:
    """``is_true`` for a Rocketry-style condition class that defines ``get_state``."""
    import inspect  # not at ``import skylaunch`` (bench W5)

    wanted = set(inspect.signature(get_state).parameters) & {"task", "session"}

    def is_true(self: Condition, ctx: Context) -> bool:
        given = {"task": ctx.task, "session": ctx.session}
        return bool(get_state(self, **{name: given[name] for name in wanted}))

    return is_true


def _check(other: object, op: str) -> Condition:
    if isinstance(other, Condition):
        return other
    raise TypeError(
        f"cannot combine a condition with {other!r} using {op!r}: "
        "build it first (e.g. parse_condition('...'))"
    )


_ONE_US = timedelta(microseconds=1)


def label(cond: Condition) -> str:
    """The string form of ``cond``, or its repr when it has none (``ParamExists(x=1)``,
    ``TaskExecutable(TimeOfYear())``): safe in an error message about ``cond``."""
    try:
        return str(cond)
    except Exception:
        return repr(cond)


def instant_from(ts: float, tz: tzinfo | None, *, after: bool = False) -> datetime:
    """The earliest instant whose ``timestamp()`` is at least ``ts`` (``after``: more than).

    A condition that holds from the POSIX time ``ts`` on must test ``ctx.ts >= ts`` and give
    this instant as its next change: ``datetime.fromtimestamp`` rounds to the nearest
    microsecond, which may fall just before ``ts``, where the condition is still false. Both
    sides then use one comparison, so the planned instant is exactly where the value flips.
    The result is in zone ``tz``.
    """

    def reached(when: datetime) -> bool:
        return when.timestamp() > ts if after else when.timestamp() >= ts

    when = datetime.fromtimestamp(ts, timezone.utc)
    while not reached(when):
        when += _ONE_US
    while reached(when - _ONE_US):
        when -= _ONE_US
    return datetime.fromtimestamp(when.timestamp(), tz)  # the same microsecond, in zone tz


def _instant(value: datetime) -> float:
    return value.timestamp()


def _min_deadline(values: list[datetime | None]) -> datetime | None:
    best: datetime | None = None
    for value in values:
        if value is not None and (best is None or value.timestamp() < best.timestamp()):
            best = value
    return best


class AlwaysTrue(Condition, Frozen):
    """Always true (``true``)."""

    __slots__ = ()
    _fields = ()

    def is_true(self, ctx: Context) -> bool:
        return True

    def next_change(self, ctx: Context) -> datetime | None:
        return None

    def __str__(self) -> str:
        return "true"


class AlwaysFalse(Condition, Frozen):
    """Always false (``false``)."""

    __slots__ = ()
    _fields = ()

    def is_true(self, ctx: Context) -> bool:
        return False

    def next_change(self, ctx: Context) -> datetime | None:
        return None

    def __str__(self) -> str:
        return "false"


class _Logic(Condition):
    """``All``, ``Any`` and ``Not``: equal when their normal forms are (see :func:`normal_form`)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Condition):
            return NotImplemented
        return _plain_eq(normal_form(self), normal_form(other))

    def __hash__(self) -> int:
        return _normal_hash(self)


class _Combined(_Logic):
    __slots__ = ()
    conds: tuple[Condition, ...]
    symbol: ClassVar[str]

    def __init__(
        self,
        *given: Condition | tuple[Condition, ...] | list[Condition],
        conds: tuple[Condition, ...] | list[Condition] | None = None,
    ) -> None:
        """``All(a, b, c)`` as in Rocketry, or ``All((a, b, c))`` / ``All(conds=(a, b))``.

        The keyword form is the one ``repr`` prints and ``_replace`` calls.
        """
        if conds is not None:
            if given:
                raise TypeError(
                    f"{type(self).__name__}() takes its parts positionally or as conds=, not both"
                )
            given = (conds,)
        parts = given[0] if len(given) == 1 and isinstance(given[0], tuple | list) else given
        for part in parts:
            if not isinstance(part, Condition):
                raise TypeError(
                    f"{type(self).__name__}() takes conditions, got {part!r}: parse a string "
                    "first (parse_condition('...'))"
                )
        object.__setattr__(self, "conds", tuple(parts))

    def __iter__(self) -> Iterator[Condition]:
        """The parts, in order (``list(All(a, b)) == [a, b]``, as in Rocketry)."""
        return iter(self.conds)

    def __getitem__(self, index: int) -> Condition:
        """A part by its position (``All(a, b)[1] is b``, as in Rocketry)."""
        return self.conds[index]

    @classmethod
    def of(cls, *conds: Condition) -> Condition:
        flat: list[Condition] = []
        for cond in conds:
            parts = cond.conds if type(cond) is cls else (cond,)
            flat.extend(parts)
        if len(flat) == 1:
            return flat[0]
        return cls(tuple(flat))

    def next_change(self, ctx: Context) -> datetime | None:
        return _min_deadline([c.next_change(ctx) for c in self.conds])

    def watches(self, own: str | None) -> frozenset[str]:
        names: frozenset[str] = frozenset()
        for cond in self.conds:
            names |= cond.watches(own)
        return names


class All(_Combined, Frozen):
    """True when every part is true (``a & b``)."""

    __slots__ = ("conds",)
    _fields = ("conds",)
    conds: tuple[Condition, ...]
    symbol: ClassVar[str] = "&"

    def is_true(self, ctx: Context) -> bool:
        return all(c.is_true(ctx) for c in self.conds)

    def next_change(self, ctx: Context) -> datetime | None:
        # False: it turns true only once every false part has, and none can before its own
        # next change, so the latest of those is the earliest the whole can flip (a part that
        # only task events can change keeps it false). True: any part turning false flips it.
        false_changes: list[datetime] = []
        changes: list[datetime | None] = []
        for cond in self.conds:
            change = cond.next_change(ctx)
            if cond.is_true(ctx):
                changes.append(change)
            elif change is None:
                return None
            else:
                false_changes.append(change)
        if false_changes:
            return max(false_changes, key=_instant)
        return _min_deadline(changes)

    def __str__(self) -> str:
        return " & ".join(_wrap(c, Any) for c in self.conds)


class Any(_Combined, Frozen):
    """True when some part is true (``a | b``)."""

    __slots__ = ("conds",)
    _fields = ("conds",)
    conds: tuple[Condition, ...]
    symbol: ClassVar[str] = "|"

    def is_true(self, ctx: Context) -> bool:
        return any(c.is_true(ctx) for c in self.conds)

    def next_change(self, ctx: Context) -> datetime | None:
        # True: it stays true until every true part has turned false (a part that only task
        # events can change keeps it true), so the latest of their next changes. False: any
        # part turning true flips it.
        true_changes: list[datetime] = []
        changes: list[datetime | None] = []
        for cond in self.conds:
            change = cond.next_change(ctx)
            if not cond.is_true(ctx):
                changes.append(change)
            elif change is None:
                return None
            else:
                true_changes.append(change)
        if true_changes:
            return max(true_changes, key=_instant)
        return _min_deadline(changes)

    def __str__(self) -> str:
        return " | ".join(str(c) for c in self.conds)


class Not(_Logic, Frozen):
    """True when its part is false (``~a``)."""

    __slots__ = ("cond",)
    _fields = ("cond",)
    cond: Condition

    def __init__(self, cond: Condition) -> None:
        object.__setattr__(self, "cond", cond)

    def is_true(self, ctx: Context) -> bool:
        return not self.cond.is_true(ctx)

    def next_change(self, ctx: Context) -> datetime | None:
        return self.cond.next_change(ctx)

    def watches(self, own: str | None) -> frozenset[str]:
        return self.cond.watches(own)

    def __invert__(self) -> Condition:
        return self.cond

    def __str__(self) -> str:
        inner = str(self.cond)
        if isinstance(self.cond, (All, Any)) or " " in inner:
            return f"~({inner})"
        return f"~{inner}"


def normal_form(cond: Condition) -> Condition:
    """``cond`` with its logic written one way: nested ``All``/``Any`` of the same kind flattened
    (``All(a, All(b, c))`` is ``All(a, b, c)``; one part is that part), ``~~a`` is ``a``,
    ``~true`` is ``false`` and ``~false`` is ``true``. ``==`` on ``All``, ``Any`` and ``Not``
    compares these, as Rocketry's equality did (``true & (true & true) == All(true, true,
    true)``, ``Not(true) == false``). Nothing else is simplified: parts keep their order and
    repeats (``a & b`` is not ``b & a``, ``All(a, a)`` is not ``a``).
    """
    if isinstance(cond, Not):
        inner = normal_form(cond.cond)
        if isinstance(inner, Not):
            return inner.cond
        if isinstance(inner, AlwaysTrue):
            return false
        if isinstance(inner, AlwaysFalse):
            return true
        return Not(inner)
    if isinstance(cond, _Combined):
        kind = type(cond)
        parts: list[Condition] = []
        for part in cond.conds:
            normal = normal_form(part)
            parts.extend(normal.conds if type(normal) is kind else (normal,))
        return parts[0] if len(parts) == 1 else kind(tuple(parts))
    return cond


def _plain_eq(a: Condition, b: Condition) -> bool:
    """Equality of two conditions in normal form (their parts are normal already)."""
    if isinstance(a, Not):
        return isinstance(b, Not) and _plain_eq(a.cond, b.cond)
    if isinstance(a, _Combined):
        if type(a) is not type(b):
            return False
        other = b.conds
        return len(a.conds) == len(other) and all(map(_plain_eq, a.conds, other))
    return a == b


def _normal_hash(cond: Condition) -> int:
    normal = normal_form(cond)
    if isinstance(normal, Not):
        return hash(("Not", _normal_hash(normal.cond)))
    if isinstance(normal, _Combined):
        return hash((type(normal).__name__, tuple(_normal_hash(c) for c in normal.conds)))
    return hash(normal)


def _wrap(cond: Condition, kind: type) -> str:
    text = str(cond)
    return f"({text})" if isinstance(cond, kind) else text


true = AlwaysTrue()
false = AlwaysFalse()
