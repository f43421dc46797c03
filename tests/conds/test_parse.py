from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skylaunch import App
from skylaunch.conds import (
    DependFailure,
    DependFinish,
    SchedulerCycles,
    after_all_success,
    after_any_fail,
    after_success,
    daily,
    every,
    false,
    parse_condition,
    retry,
    scheduler_running,
    time_of_day,
    true,
)
from skylaunch.conds.func import FuncCond
from skylaunch.exc import ConditionParseError, TaskDefinitionError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", true),
        ("false", false),
        ("every 10 seconds", every("10 seconds")),
        ("every 1 days 1 hours 30 minutes", every("1 day 1 hour 30 minutes")),
        ("daily", daily),
        ("daily between 10:00 and 12:00", daily.between("10:00", "12:00")),
        ("daily after 10:00", daily.after("10:00")),
        ("daily before 10:00", daily.before("10:00")),
        ("daily at 10:00", daily.at("10:00")),
        ("time of day between 10:00 and 12:00", time_of_day.between("10:00", "12:00")),
        ("after task 'fetch'", after_success("fetch")),
        ("after task 'fetch' succeeded", after_success("fetch")),
        ("after task 'fetch' failed", DependFailure("fetch")),
        ("after task 'fetch' finished", DependFinish("fetch")),
        ("after tasks 'a', 'b'", after_all_success("a", "b")),
        ("after any tasks 'a', 'b' failed", after_any_fail("a", "b")),
        ("scheduler has more than 3 cycles", SchedulerCycles() > 3),
        ("scheduler has run over 10 minutes", scheduler_running(more_than="10 minutes")),
        ("retry 3", retry(3)),
        ("retry", retry()),
        (
            "daily & time of day between 10:00 and 12:00 | retry 3",
            daily & time_of_day.between("10:00", "12:00") | retry(3),
        ),
        ("~(true & false) | false", ~(true & false) | false),
        ("daily & (every 1 hour | retry)", daily & (every("1 hour") | retry())),
    ],
)
def test_parses(text: str, expected: object) -> None:
    assert parse_condition(text) == expected


@pytest.mark.parametrize(
    "cond",
    [
        daily.between("10:00", "12:00") & after_success("x") | retry(3),
        ~every("90 minutes") & time_of_day.after("08:00"),
        after_any_fail("a", "b") | (SchedulerCycles() < 9),
        every("1 hour", based="finish"),
    ],
)
def test_printing_round_trips(cond: object) -> None:
    assert parse_condition(str(cond)) == cond


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("dialy", 0, "a condition starting with"),
        ("daily & wekly", 8, "a condition starting with"),
        ("every soon", 6, "a duration"),
        ("daily between 10:00", 19, "'and'"),
        ("(daily | true", 13, "')'"),
        ("after task fetch", 11, "a quoted task name"),
        ("daily &", 7, "a condition"),
        ("after task 'fetch", 11, "a closing quote"),
        ("", 0, "empty"),
    ],
)
def test_errors_point_at_the_mistake(text: str, position: int, expected: str) -> None:
    with pytest.raises(ConditionParseError) as info:
        parse_condition(text)
    assert info.value.position == position
    assert expected in str(info.value)
    assert text in str(info.value)


def test_registered_names() -> None:
    def is_foo() -> bool:
        return True

    cond = FuncCond(is_foo, "is_foo")
    assert parse_condition("is_foo & daily", {"is_foo": cond}) == cond & daily
    with pytest.raises(ConditionParseError, match="registered conditions: is_foo"):
        parse_condition("is_bar", {"is_foo": cond})


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("has failed today", "has failed today"),
        ("task 'x' has succeeded this hour", "task 'x' has succeeded this hour"),
        ("has started at least 3 times this day", "has started at least 3 times today"),
        ("has started 0 times today", "has started exactly 0 times today"),
        ("has finished past 15 minutes", "has finished in past 15 minutes"),
        ("has inacted this week on Monday", "has inacted this week on Mon"),
        ("while task 'x' is running", "task 'x' is running"),
        ("is running for more than 10 min", "is running for more than 10 minutes"),
        ("cron 0,30 9-17 * * MON-FRI", "cron 0,30 9-17 * * 1-5"),
        ("crontime @hourly", "crontime 0 * * * *"),
        ("env 'prod'", "env 'prod'"),
        ("param 'x' exists, 'k' is 'v'", "param 'x' exists, 'k' is 'v'"),
        ("scheduler started 10 minutes ago", "scheduler started in past 10 minutes"),
        ("weekly at Monday", "weekly on Mon"),
        ("daily on 10:00", "daily at 10:00"),
    ],
)
def test_new_phrases(text: str, printed: str) -> None:
    cond = parse_condition(text)
    assert str(cond) == printed
    assert parse_condition(printed) == cond


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("has flown today", 4, "'started'"),
        ("has started this year", 17, "'second' or 'minute'"),
        ("cron 61 * * * *", 5, "a valid cron expression"),
        ("task x has failed", 5, "a quoted task name"),
        # no task has an empty name; "task '' is running" meant the own task (found by fuzzing:
        # it printed as "is running", which parses to something else)
        ("task '' is running", 5, "a task name (not empty)"),
        ("task '' has failed today", 5, "a task name (not empty)"),
        ("after task ''", 11, "a task name (not empty)"),
        ("after tasks 'a', ''", 17, "a task name (not empty)"),
        ("has started at least three times", 21, "a whole number"),
        (
            "scheduler started in",
            20,
            "'past'",
        ),  # bare "scheduler started" is Rocketry's SchedulerStarted()
    ],
)
def test_new_phrase_errors_point_at_the_mistake(text: str, position: int, expected: str) -> None:
    with pytest.raises(ConditionParseError) as info:
        parse_condition(text)
    assert info.value.position == position
    assert expected in str(info.value)
    assert text in str(info.value)


# --- fuzzing: whatever the text, the answer is a condition or a ConditionParseError -----------

_VALID = [
    "true",
    "every 10 seconds",
    "every 1 days 1 hours 30 minutes after success",
    "daily between 10:00 and 12:00",
    "weekly on Monday",
    "time of day between 10:00 and 12:00",
    "after any tasks 'a', 'b' failed",
    "scheduler has more than 3 cycles",
    "scheduler has run over 10 minutes",
    "retry 3",
    "has started at least 3 times this day",
    "task 'x' is running for more than 10 min",
    "cron 0,30 9-17 * * MON-FRI",
    "param 'x' exists, 'k' is 'v'",
    "~(true & false) | daily & (every 1 hour | retry)",
]
#: Pieces that broke the parser once: huge numbers, digits int() refuses, operators, quotes.
_PIECES = [*"&|~(),'\" :.-*/09", "9" * 25, "9" * 5000, "1e400", "²", "\x00", "\n", "days"]


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(_VALID))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(_PIECES) | st.text(max_size=3))
        if edit == "insert":
            text = text[:at] + piece + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + piece + text[at + len(piece) :]
    return text


def _parses_or_points_at_the_mistake(text: str) -> None:
    position = None
    try:
        cond = parse_condition(text)
    except ConditionParseError as exc:
        position = exc.position
    if position is None:
        assert str(cond)
    else:
        assert 0 <= position <= len(text)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_any_text_parses_or_raises_a_parse_error(text: str) -> None:
    _parses_or_points_at_the_mistake(text)


@settings(max_examples=500, deadline=None)
@given(_mutated())
def test_mutated_conditions_parse_or_raise_a_parse_error(text: str) -> None:
    _parses_or_points_at_the_mistake(text)


@pytest.mark.parametrize(
    "text",
    [
        "every 99999999999999999999 days",
        "scheduler has run over 9999999999999999999999 days",
        "retry " + "9" * 5000,
        "scheduler has more than ² cycles",
        "every 1e400 s",
        "param '' exists",
    ],
)
def test_numbers_out_of_range_are_parse_errors(text: str) -> None:
    with pytest.raises(ConditionParseError) as info:
        parse_condition(text)
    assert info.value.position > 0


@pytest.mark.parametrize(("opening", "closing"), [("(", ")"), ("~", ""), ("(~", ")"), ("~(", ")")])
def test_deep_nesting_is_a_parse_error_not_a_recursion_error(opening: str, closing: str) -> None:
    text = opening * 10_000 + "true" + closing * 10_000
    with pytest.raises(ConditionParseError, match="at most 100 nested") as info:
        parse_condition(text)
    assert info.value.position == 100  # each of "(" and "~" is one level
    # as deep as allowed still parses
    assert parse_condition(opening * 50 + "true" + closing * 50) is not None


def test_python_values_too_large_are_value_errors_naming_them() -> None:
    with pytest.raises(ValueError, match="too long"):
        every(10**20)
    app = App()
    with pytest.raises(TaskDefinitionError, match=r"timeout.*too long"):
        app.session.create_task(func=print, name="x", timeout=10**30)


def test_the_shared_grammar_cannot_be_changed_from_outside() -> None:
    """One app must not change how another parses: custom conditions go by name, per app."""
    from skylaunch.conds.parse import _PHRASES as PHRASES
    from skylaunch.testing import simulated_app

    with pytest.raises(TypeError):
        PHRASES["weekly"] = PHRASES["daily"]  # type: ignore[index]
    first, second = simulated_app(), simulated_app()

    @first.cond()
    def ready() -> bool:
        return True

    first.task("daily & ready", name="a")(lambda: None)
    with pytest.raises(ConditionParseError, match="ready"):
        second.task("daily & ready", name="a")(lambda: None)


def test_a_session_grammar_takes_phrases_of_its_own() -> None:
    """``session.grammar.add_phrase`` extends one session's language, no other's."""
    from skylaunch.conds import true
    from skylaunch.conds.base import Condition
    from skylaunch.conds.parse import Grammar, parse_condition
    from skylaunch.testing import simulated_app

    first, second = simulated_app(), simulated_app()
    seen: list[str] = []

    def weekday(rest: str) -> Condition:
        if rest not in ("monday", "friday"):
            raise ValueError(f"no such weekday: {rest!r}")
        seen.append(rest)
        return true

    first.session.grammar.add_phrase("weekday", weekday)
    first.task("daily & weekday monday", name="a")(lambda: None)
    assert str(first.session["a"].start_cond) == "daily & true"
    assert seen == ["monday"]
    with pytest.raises(ConditionParseError, match="weekday"):
        second.task("weekday monday", name="a")(lambda: None)
    with pytest.raises(ConditionParseError, match="no such weekday"):
        first.session.grammar.parse("weekday sunday")
    with pytest.raises(ConditionParseError, match="weekday"):
        parse_condition("weekday monday")  # the module's grammar is the built-in one only
    with pytest.raises(ValueError, match="built-in"):
        first.session.grammar.add_phrase("daily", weekday)
    with pytest.raises(ValueError, match="one plain word"):
        first.session.grammar.add_phrase("two words", weekday)
    assert "weekday" in first.session.grammar.words()
    assert "weekday" not in Grammar().words()


def test_app_cond_registers_in_the_session_grammar() -> None:
    from skylaunch.testing import simulated_app

    app = simulated_app()

    @app.cond(syntax="data is ready")
    def ready() -> bool:
        return True

    assert app.session.grammar.parse("data is ready") is app.session.cond_names["data is ready"]


def test_parse_time_gives_the_period_of_a_time_phrase() -> None:
    from skylaunch.conds import parse_time
    from skylaunch.time import TimeDelta, TimeOfDay, TimeOfWeek, always, never

    assert parse_time("time of day between 10:00 and 12:00") == TimeOfDay("10:00", "12:00")
    assert parse_time("every 10 seconds") == TimeDelta("10 seconds")
    assert parse_time("always") == always
    assert parse_time("never") == never
    assert parse_time("time of week on Monday & time of day between 10:00 and 12:00") == TimeOfDay(
        "10:00", "12:00"
    ) & TimeOfWeek.at("Mon")
    assert parse_time("time of week on Mon | time of week on Fri") == (
        TimeOfWeek.at("Mon") | TimeOfWeek.at("Fri")
    )
    with pytest.raises(ConditionParseError, match="a time period"):
        parse_time("task 'x' has failed")


def test_parse_error_is_given_where_the_parsers_are() -> None:
    # Rocketry's `from rocketry.parse import parse_time, ParserError`
    from skylaunch.conds import ConditionParseError as FromConds
    from skylaunch.conds import parse_time

    assert FromConds is ConditionParseError
    with pytest.raises(FromConds):
        parse_time("invalid string")


def test_parse_condition_takes_rocketrys_bools_and_conditions() -> None:
    from skylaunch.conds import daily, false, true

    assert parse_condition(True) is true
    assert parse_condition(False) is false
    assert parse_condition(daily) is daily
    with pytest.raises(TypeError, match="condition string"):
        parse_condition(3)  # type: ignore[arg-type]


def test_nested_negations_parse_equal_to_what_they_mean() -> None:
    from skylaunch.conds import AlwaysTrue, Not, daily

    assert parse_condition("~~true") == AlwaysTrue()
    assert parse_condition("~~daily") == daily
    assert parse_condition("~~~true") == Not(AlwaysTrue())


class _CountingText(str):
    """A condition's text that counts the characters copied out of it (slices and strips)."""

    copied = 0

    def __getitem__(self, key: object) -> str:  # type: ignore[override]
        out = str.__getitem__(self, key)  # type: ignore[index]
        _CountingText.copied += len(out)
        return out

    def strip(self, chars: str | None = None) -> str:
        _CountingText.copied += len(self)
        return str.strip(self, chars)

    def lstrip(self, chars: str | None = None) -> str:
        _CountingText.copied += len(self)
        return str.lstrip(self, chars)

    def rstrip(self, chars: str | None = None) -> str:
        _CountingText.copied += len(self)
        return str.rstrip(self, chars)


def test_a_long_condition_is_read_in_one_go_not_once_per_word() -> None:
    # The tokenizer stripped the rest of the text before each token: 20,000 phrases joined
    # with '&' took 5 s to parse, four times as long as 10,000 (found by a fuzzing probe).
    text = _CountingText(" & ".join(["every 1 second"] * 2_000) + "  ")
    _CountingText.copied = 0
    cond = parse_condition(text)
    assert "every 1 second" in str(cond)
    assert _CountingText.copied <= 2 * len(text)
