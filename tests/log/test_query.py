"""Query operators: values with matches(); Query parses filter_by keywords once."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from skylaunch.log.query import (
    Between,
    Equal,
    GreaterEqual,
    In,
    LessEqual,
    Query,
    between,
    equal,
    greater_equal,
    greater_than,
    in_,
    less_equal,
    less_than,
    not_equal,
    skip,
)


@pytest.mark.parametrize(
    ("oper", "value", "expected"),
    [
        (greater_than(2), 3, True),
        (greater_than(2), 2, False),
        (greater_equal(2), 2, True),
        (greater_equal(2), 1, False),
        (less_than(2), 1, True),
        (less_than(2), 2, False),
        (less_equal(2), 2, True),
        (less_equal(2), 3, False),
        (equal("a"), "a", True),
        (equal("a"), "b", False),
        (not_equal("a"), "b", True),
        (not_equal("a"), "a", False),
        (between(1, 3), 1, True),
        (between(1, 3), 3, True),
        (between(1, 3), 4, False),
        (in_(["a", "b"]), "b", True),
        (in_(["a", "b"]), "c", False),
        (skip, object(), True),
        # None: ordering never matches, equality and membership treat it as a value.
        (greater_than(2), None, False),
        (less_than(2), None, False),
        (between(1, 3), None, False),
        (equal(None), None, True),
        (not_equal("a"), None, True),
        (in_([None]), None, True),
    ],
)
def test_matches(oper: object, value: object, expected: bool) -> None:
    assert oper.matches(value) is expected  # type: ignore[attr-defined]


def test_datetimes_compare() -> None:
    t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert between(t, t).matches(t)
    assert greater_than(t).matches(datetime(2024, 1, 2, tzinfo=timezone.utc))


def test_between_open_ends() -> None:
    assert between(1, None, none_as_open=True) == GreaterEqual(1)
    assert between(None, 3, none_as_open=True) == LessEqual(3)
    assert between(None, None, none_as_open=True) is skip
    assert between(1, 3, none_as_open=True) == Between(1, 3)
    with pytest.raises(ValueError, match="none_as_open=True"):
        between(None, 3)


def test_in_takes_a_collection() -> None:
    assert in_(v for v in "ab") == In(("a", "b"))
    with pytest.raises(TypeError, match="not the string 'ab'"):
        in_("ab")


def test_operators_are_hashable_values() -> None:
    assert greater_than(1) == greater_than(1)
    assert len({greater_than(1), greater_than(1), less_than(1)}) == 2
    with pytest.raises(AttributeError):
        greater_than(1).value = 2  # type: ignore[misc]


def test_incomparable_values_are_named() -> None:
    with pytest.raises(TypeError, match=r"less_than\(1\) cannot compare with the field value 'a'"):
        less_than(1).matches("a")
    with pytest.raises(TypeError, match="between"):
        between(1, 2).matches("a")


def test_query_from_kwargs() -> None:
    query = Query.from_kwargs({"task_name": "x", "created": greater_than(1), "run_id": skip})
    assert query.conditions == (("task_name", Equal("x")), ("created", greater_than(1)))
    assert query.fields == ("task_name", "created")
    assert query.equal_value("task_name") == (True, "x")
    assert query.equal_value("created") == (False, None)
    assert query.matches({"task_name": "x", "created": 2}.get)
    assert not query.matches({"task_name": "x", "created": 1}.get)
    assert not Query.from_kwargs({})
    assert Query.from_kwargs({}).matches({}.get)


def test_operators_are_frozen_values() -> None:
    import copy
    import dataclasses
    import pickle

    from skylaunch.log.query import NotEqual, Skip

    ops = [Equal(1), NotEqual(1), GreaterEqual(1), LessEqual(3), Between(1, 3), In((1, 2)), Skip()]
    for op in ops:
        assert pickle.loads(pickle.dumps(op)) == op
        assert copy.deepcopy(op) == op
        assert hash(copy.copy(op)) == hash(op)
        assert not hasattr(op, "__dict__")
    assert Equal(1) != NotEqual(1)  # same field, another class
    assert Equal(1) != 1
    assert len({Equal(1), Equal(1), Equal(2)}) == 2
    assert repr(Between(1, 3)) == "Between(start=1, end=3)"
    assert repr(Equal("a")) == "Equal(value='a')"
    assert repr(Skip()) == "Skip()"
    with pytest.raises(dataclasses.FrozenInstanceError):
        Equal(1).value = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del Between(1, 3).start
    match Between(1, 3):
        case Between(start, end):
            assert (start, end) == (1, 3)
