"""The written-out frozen value classes behave as the frozen dataclasses they replaced."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from skylaunch.conds import daily
from skylaunch.conds.base import All, AlwaysFalse, AlwaysTrue, Not
from skylaunch.conds.base import Any as AnyOf
from skylaunch.conds.func import FuncCond
from skylaunch.conds.timing import Every, IsPeriod, TaskExecutable, TaskRunnable
from skylaunch.execution.base import Outcome, TaskCall
from skylaunch.execution.main import _Done
from skylaunch.execution.registry import BUILTIN_EXECUTORS, BuiltinOptions
from skylaunch.log.context import RunInfo
from skylaunch.log.query import Equal, Query
from skylaunch.tasks.func import ImportedFunc
from skylaunch.time import TimeOfDay
from skylaunch.time.periods import _Segment


def _reference(cls: type[Any], fields: tuple[str, ...]) -> type[Any]:
    """The frozen, slotted dataclass ``cls`` was before (same name, same fields)."""
    made = dataclasses.make_dataclass(
        cls.__name__, [(name, Any) for name in fields], frozen=True, slots=True
    )
    made.__qualname__ = cls.__qualname__
    return made


def _was(cls: type[Any], **params: Any) -> Callable[[type[Any]], type[Any]]:
    """Make the decorated class the dataclass ``cls`` was (its fields and options, its name)."""

    def make(ref: type[Any]) -> type[Any]:
        ref.__name__, ref.__qualname__ = cls.__name__, cls.__qualname__
        return dataclasses.dataclass(**{"frozen": True, "slots": True, **params})(ref)

    return make


# The dataclasses as they were declared (types aside), to compare the written-out classes with.


@_was(AlwaysTrue)
class _AlwaysTrue:
    pass


@_was(AlwaysFalse)
class _AlwaysFalse:
    pass


@_was(All, init=False, eq=False)
class _All:
    conds: Any


@_was(AnyOf, init=False, eq=False)
class _AnyOf:
    conds: Any


@_was(Not, eq=False)
class _Not:
    cond: Any


@_was(IsPeriod)
class _IsPeriod:
    period: Any


@_was(TaskExecutable)
class _TaskExecutable:
    period: Any
    task: Any = None
    retries: Any = 0
    catch_up_within: Any = None


@_was(TaskRunnable)
class _TaskRunnable:
    period: Any
    task: Any = None


@_was(Every, init=False, eq=False)
class _Every:
    period: Any
    based: Any
    task: Any
    jitter: Any
    seed: Any


@_was(FuncCond)
class _FuncCond:
    func: Any = None
    name: Any = ""
    args: Any = dataclasses.field(default=())
    kwargs: Any = dataclasses.field(default=())
    session_params: Any = dataclasses.field(default=(), compare=False)
    arg_params: Any = dataclasses.field(default=(), compare=False)
    decor_return_func: Any = dataclasses.field(default=False, compare=False, repr=False)
    syntax: dataclasses.InitVar[Any] = None


@_was(TaskCall)
class _TaskCall:
    task_name: Any
    run_id: Any
    func: Any
    kwargs: Any = dataclasses.field(default_factory=dict)
    timeout_s: Any = None
    flag: Any = None


@_was(Outcome)
class _Outcome:
    run_id: Any
    action: Any
    value: Any = None
    exc_text: Any = None
    control: Any = None


@_was(_Segment)
class _SegmentRef:
    lo: Any
    hi: Any
    starts: Any
    ends: Any
    intervals: Any


def _is_job() -> bool:
    return True


_DAY = TimeOfDay("03:00", "04:00")
_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)

# (class, the dataclass it was, field values, whether that dataclass made __eq__ and __hash__)
CASES: list[tuple[type[Any], type[Any], tuple[Any, ...], bool]] = [
    (RunInfo, _reference(RunInfo, ("task_name", "run_id")), ("job", "0123abcd"), True),
    (RunInfo, _reference(RunInfo, ("task_name", "run_id")), ("job", None), True),
    (BuiltinOptions, _reference(BuiltinOptions, ("max_processes", "daemon")), (4, False), True),
    (
        ImportedFunc,
        _reference(ImportedFunc, ("path", "func_name", "sys_paths")),
        ("/srv/jobs.py", "main", ("/srv",)),
        True,
    ),
    (Query, _reference(Query, ("conditions",)), ((("task_name", Equal("a")),),), True),
    (
        type(BUILTIN_EXECUTORS["thread"]),
        _reference(
            type(BUILTIN_EXECUTORS["thread"]),
            ("module", "cls", "shares_process", "runs_inline", "takes"),
        ),
        ("m", "C", True, False, ("daemon",)),
        True,
    ),
    (AlwaysTrue, _AlwaysTrue, (), True),
    (AlwaysFalse, _AlwaysFalse, (), True),
    (All, _All, ((daily, AlwaysTrue()),), False),
    (AnyOf, _AnyOf, ((daily, AlwaysFalse()),), False),
    (Not, _Not, (daily,), False),
    (IsPeriod, _IsPeriod, (_DAY,), True),
    (TaskExecutable, _TaskExecutable, (_DAY, "job", 2, timedelta(hours=1)), True),
    (TaskExecutable, _TaskExecutable, (_DAY, None, 0, None), True),
    (TaskRunnable, _TaskRunnable, (_DAY, "job"), True),
    (Every, _Every, (timedelta(hours=1), "finish", "job", timedelta(minutes=5), 7), False),
    (FuncCond, _FuncCond, (_is_job, "is job", (1,), (("k", 2),), ("p",), (), True), True),
    (FuncCond, _FuncCond, (None, "is job", (), (), (), (), False), True),
    (TaskCall, _TaskCall, ("job", "r1", _is_job, {"x": 1}, 2.5, None), True),
    (Outcome, _Outcome, ("r1", "fail", None, "Traceback ...", "exit"), True),
    (_Segment, _SegmentRef, (0.0, 1.0, [0.0], [1.0], []), True),
]


def _made(cls: type[Any], values: tuple[Any, ...]) -> Any:
    """An instance of ``cls`` made through its ``__init__`` (``Every``: jitter, seed by keyword)."""
    if cls is Every:
        return cls(*values[:3], jitter=values[3], seed=values[4])
    return cls(*values)


def _ref_made(ref: type[Any], values: tuple[Any, ...]) -> Any:
    """An instance of the reference dataclass with these field values (its __init__ may be off)."""
    item = object.__new__(ref)
    item.__setstate__(list(values))
    return item


@pytest.mark.parametrize(("cls", "ref", "values", "dataclass_eq"), CASES)
def test_equality_hash_repr_and_order_of_fields_match_the_dataclass(
    cls: type[Any], ref: type[Any], values: tuple[Any, ...], dataclass_eq: bool
) -> None:
    fields = cls._fields
    assert fields == tuple(f.name for f in dataclasses.fields(ref))
    mine, theirs = _made(cls, values), _ref_made(ref, values)
    assert repr(mine) == repr(theirs)
    if dataclass_eq:  # otherwise the class's own (tests/conds compare those)
        try:
            expected = hash(theirs)
        except TypeError:  # a field holds a list or a dict: neither hashes
            with pytest.raises(TypeError):
                hash(mine)
        else:
            assert hash(mine) == expected
        assert mine == _made(cls, values)
        assert (mine == theirs) is (theirs == mine)
    assert mine != theirs  # another class is never equal, as between two dataclasses
    assert sorted(cls.__slots__) == sorted(ref.__slots__)
    assert cls.__match_args__ == ref.__match_args__
    assert tuple(getattr(mine, name) for name in fields) == values
    assert not hasattr(mine, "__dict__")
    assert not hasattr(mine, "__weakref__")
    # pickled the same way: the values as a list, set back without __init__
    assert mine.__reduce_ex__(2)[0] is theirs.__reduce_ex__(2)[0]
    assert mine.__reduce_ex__(2)[2:] == theirs.__reduce_ex__(2)[2:]


@pytest.mark.parametrize(("cls", "ref", "values", "dataclass_eq"), CASES)
def test_assignment_and_deletion_are_refused_and_copies_and_pickles_are_equal(
    cls: type[Any], ref: type[Any], values: tuple[Any, ...], dataclass_eq: bool
) -> None:
    item = _made(cls, values)
    for name in cls._fields:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(item, name, "other")
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(item, name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.unknown = 1
    assert item._values() == _made(cls, values)._values()
    for again in (copy.copy(item), copy.deepcopy(item), pickle.loads(pickle.dumps(item))):
        assert again == item
        assert type(again) is cls


def test_defaults_and_keywords_are_those_of_the_dataclasses() -> None:
    assert BuiltinOptions() == BuiltinOptions(max_processes=1, daemon=True)
    assert ImportedFunc("f.py", "main") == ImportedFunc("f.py", "main", sys_paths=())
    assert Query() == Query(conditions=())
    assert RunInfo(task_name="a", run_id=None) == RunInfo("a", None)
    with pytest.raises(TypeError):
        RunInfo("a")  # type: ignore[call-arg]


def test_a_run_info_matches_by_position_as_before() -> None:
    match RunInfo("job", "r1"):
        case RunInfo("job", run_id):
            assert run_id == "r1"
        case _:  # pragma: no cover - the match above must take it
            pytest.fail("no match")


_INIT_CASES = [
    (TaskExecutable, _TaskExecutable),
    (TaskRunnable, _TaskRunnable),
    (IsPeriod, _IsPeriod),
    (Not, _Not),
    (AlwaysTrue, _AlwaysTrue),
    (FuncCond, _FuncCond),
    (Outcome, _Outcome),
    (_Segment, _SegmentRef),
]


@pytest.mark.parametrize(("cls", "ref"), _INIT_CASES)
def test_the_init_takes_the_arguments_and_defaults_of_the_dataclass(
    cls: type[Any], ref: type[Any]
) -> None:
    mine = inspect.signature(cls).parameters.values()
    theirs = inspect.signature(ref).parameters.values()
    assert [(p.name, p.kind, p.default) for p in mine] == [
        (p.name, p.kind, p.default) for p in theirs
    ]


def test_a_task_call_gets_a_dict_of_its_own_by_default_as_with_default_factory() -> None:
    names = [p.name for p in inspect.signature(TaskCall).parameters.values()]
    assert names == [p.name for p in inspect.signature(_TaskCall).parameters.values()]
    one, two = TaskCall("a", "r1", _is_job), TaskCall("a", "r1", _is_job)
    assert one.kwargs == {}
    assert one == two
    assert one.kwargs is not two.kwargs
    assert TaskCall("a", "r1", _is_job, None).kwargs is None  # given, kept as given
    assert Outcome("r1", "success") == Outcome("r1", "success", None, None, None)


def test_every_takes_jitter_and_seed_by_keyword_only() -> None:
    with pytest.raises(TypeError):
        Every("1 hour", "run", None, "5 minutes")  # type: ignore[misc]
    assert Every("1 hour", jitter="5 minutes").jitter == timedelta(minutes=5)


def test_the_conditions_match_by_position_as_the_dataclasses_did() -> None:
    def what(cond: object) -> object:
        match cond:
            case TaskExecutable(period, "job", retries):
                return ("executable", period, retries)
            case TaskRunnable(period, task):
                return ("runnable", period, task)
            case Every(period, based):
                return ("every", period, based)
            case Not(inner):
                return ("not", inner)
            case All(parts):
                return ("all", parts)
            case FuncCond(func, name, (), ()):
                return ("func", func, name)
            case _:
                return None

    assert what(TaskExecutable(_DAY, "job", 1)) == ("executable", _DAY, 1)
    assert what(TaskExecutable(_DAY, "other")) is None
    assert what(TaskRunnable(_DAY)) == ("runnable", _DAY, None)
    assert what(Every("1 hour", "success")) == ("every", timedelta(hours=1), "success")
    assert what(~daily) == ("not", daily)
    assert what(daily & AlwaysTrue()) == ("all", (daily, AlwaysTrue()))
    assert what(FuncCond(_is_job, "is job")) == ("func", _is_job, "is job")


@pytest.mark.parametrize(
    ("cond", "changes"),
    [
        (TaskExecutable(_DAY, "job", 2), {"period": TimeOfDay("05:00", "06:00")}),
        (TaskExecutable(_DAY), {"catch_up_within": timedelta(hours=2)}),
        (TaskRunnable(_DAY, "job"), {"period": TimeOfDay("05:00", "06:00")}),
        (IsPeriod(_DAY), {"period": TimeOfDay("05:00", "06:00")}),
        (Every("1 hour", jitter="1 minute"), {"task": "job"}),
    ],
)
def test_replace_makes_what_dataclasses_replace_made(cond: Any, changes: dict[str, Any]) -> None:
    made = cond._replace(**changes)
    assert type(made) is type(cond)
    for name in cond._fields:
        assert getattr(made, name) == changes.get(name, getattr(cond, name))
    with pytest.raises(TypeError):
        cond._replace(no_such_field=1)


def test_replace_runs_the_checks_of_init_as_dataclasses_replace_did() -> None:
    with pytest.raises(ValueError, match="retries"):
        TaskExecutable(_DAY)._replace(retries=-1)
    with pytest.raises(ValueError, match="catch_up_within"):
        daily.catch_up(timedelta(0))


def test_the_inline_run_handle_compares_and_prints_as_its_dataclass_did() -> None:
    @dataclasses.dataclass(slots=True)
    class _Ref:
        run_id: Any
        started: Any

    _Ref.__qualname__ = _Done.__qualname__
    done, ref = _Done("r1", _AT), _Ref("r1", _AT)
    assert repr(done) == repr(ref)
    assert done == _Done("r1", _AT)
    assert done != _Done("r2", _AT)
    assert done != ref
    assert _Done.__hash__ is None
    assert _Ref.__hash__ is None
    assert _Done.__match_args__ == _Ref.__match_args__
    assert sorted(_Done.__slots__) == sorted(_Ref.__slots__)
    done.run_id = "r3"  # not frozen
    assert done == _Done("r3", _AT)


def test_the_conditions_are_still_conditions_with_their_own_equality() -> None:
    # the written-out classes keep the combinators' normal-form equality (not the fields')
    assert All((daily, All((daily, daily)))) == All((daily, daily, daily))
    assert hash(Not(Not(daily))) == hash(daily)
    assert Every("1 hour") == Every("1 hour", "run")
