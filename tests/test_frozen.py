"""The written-out frozen value classes behave as the frozen dataclasses they replaced."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import pytest

from skylaunch.execution.registry import BUILTIN_EXECUTORS, BuiltinOptions
from skylaunch.log.context import RunInfo
from skylaunch.log.query import Equal, Query
from skylaunch.tasks.func import ImportedFunc


def _reference(cls: type[Any], fields: tuple[str, ...]) -> type[Any]:
    """The frozen, slotted dataclass ``cls`` was before (same name, same fields)."""
    made = dataclasses.make_dataclass(
        cls.__name__, [(name, Any) for name in fields], frozen=True, slots=True
    )
    made.__qualname__ = cls.__qualname__
    return made


CASES: list[tuple[type[Any], tuple[Any, ...]]] = [
    (RunInfo, ("job", "0123abcd")),
    (RunInfo, ("job", None)),
    (BuiltinOptions, (4, False)),
    (ImportedFunc, ("/srv/jobs.py", "main", ("/srv",))),
    (Query, ((("task_name", Equal("a")),),)),
    (type(BUILTIN_EXECUTORS["thread"]), ("m", "C", True, False, ("daemon",))),
]


@pytest.mark.parametrize(("cls", "values"), CASES)
def test_equality_hash_repr_and_order_of_fields_match_the_dataclass(
    cls: type[Any], values: tuple[Any, ...]
) -> None:
    fields = cls._fields
    ref = _reference(cls, fields)
    mine, theirs = cls(*values), ref(*values)
    assert repr(mine) == repr(theirs)
    assert hash(mine) == hash(theirs)
    assert mine == cls(*values)
    assert mine != theirs  # another class is never equal, as between two dataclasses
    assert (mine == theirs) is (theirs == mine)
    assert sorted(cls.__slots__) == sorted(fields)  # (ruff keeps __slots__ sorted)
    assert getattr(cls, "__match_args__", fields) == fields
    assert tuple(getattr(mine, name) for name in fields) == values
    assert not hasattr(mine, "__dict__")


@pytest.mark.parametrize(("cls", "values"), CASES)
def test_assignment_and_deletion_are_refused_and_copies_and_pickles_are_equal(
    cls: type[Any], values: tuple[Any, ...]
) -> None:
    item = cls(*values)
    name = cls._fields[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(item, name, "other")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(item, name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.unknown = 1
    assert getattr(item, name) == values[0]
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
