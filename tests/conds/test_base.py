from __future__ import annotations

import pickle

import pytest

from skylaunch.conds import (
    All,
    Any,
    Not,
    after_success,
    daily,
    every,
    false,
    retry,
    time_of_day,
    true,
)
from skylaunch.testing import simulated_app


def test_operators_build_flat_combinations() -> None:
    a, b, c = every("1 hour"), after_success("x"), retry(2)
    assert (a & b) & c == All((a, b, c))
    assert a | (b | c) == Any((a, b, c))
    # as in Rocketry, a repeated part stays (All(a, a) is what was written)
    assert (a & a) == All(a, a)
    assert (a & a) != a
    assert ~a == Not(a)
    assert ~~a == a


def test_equality_compares_the_logic_written_one_way_as_rocketry() -> None:
    # nested All/Any of one kind are flat, ~~x is x, ~true is false
    assert All(All(true, true), Any(false, false)) == (true & true) & (false | false)
    assert All(true, All(true, true)) == All(true, true, true)
    assert hash(All(true, All(true, true))) == hash(All(true, true, true))
    assert Not(Not(daily)) == daily
    assert daily == Not(Not(daily))
    assert hash(Not(Not(daily))) == hash(daily)
    assert Not(true) == false
    assert false == Not(true)
    assert Not(false) == true
    assert Not(true) != true
    assert Not(false) != "invalid"
    # nothing else is simplified
    assert All(true, true) != Any(true, true)
    assert All(true, true) != true
    assert (daily & retry) != (retry & daily)
    assert All(true, false)[1] is false
    assert Any(true, false)[0] is true


def test_equal_when_built_equal_and_hashable() -> None:
    assert daily.between("10:00", "12:00") == daily.between("10:00", "12:00")
    assert hash(every("10 minutes")) == hash(every("600 seconds"))
    assert len({true, false, true}) == 2


def test_conditions_refuse_truthiness() -> None:
    with pytest.raises(TypeError, match="combine conditions with &"):
        bool(daily)
    with pytest.raises(TypeError, match="combine conditions with &"):
        _ = daily and true


def test_cannot_combine_with_non_conditions() -> None:
    with pytest.raises(TypeError, match="cannot combine"):
        _ = daily & "daily"  # type: ignore[operator]


def test_printing_uses_the_string_syntax_with_precedence() -> None:
    cond = (daily & time_of_day.between("10:00", "12:00")) | retry(3)
    assert str(cond) == "daily & time of day between 10:00 and 12:00 | retry 3"
    assert str(daily & (every("1 hour") | retry())) == "daily & (every 1 hour | retry)"
    assert str(~(true & false)) == "~(true & false)"


def test_logic_values() -> None:
    app = simulated_app("2024-01-01 10:30")
    session = app.session
    assert (true & true).observe(session=session)
    assert not (true & false).observe(session=session)
    assert (false | true).observe(session=session)
    assert (~false).observe(session=session)


def test_next_change_of_combinations() -> None:
    app = simulated_app("2024-01-01 09:00")
    from skylaunch.conds.base import Context

    ctx = Context(app.session.clock.now(), app.session)
    window = time_of_day.between("10:00", "12:00")
    assert window.next_change(ctx).isoformat() == "2024-01-01T10:00:00+00:00"  # type: ignore[union-attr]
    # false & (changes at 10:00): false forever without task events
    assert (false & window).next_change(ctx) is None
    # true | anything: true forever
    assert (true | window).next_change(ctx) is None
    assert (~window).next_change(ctx) == window.next_change(ctx)


def test_conditions_pickle() -> None:
    cond = daily.between("10:00", "12:00") & after_success("a") | retry(3)
    assert pickle.loads(pickle.dumps(cond)) == cond


def test_observe_needs_a_session() -> None:
    with pytest.raises(TypeError, match="session"):
        true.observe()


def test_a_false_all_waits_for_its_latest_false_part() -> None:
    """Polling a custom function is pointless while a time window keeps the whole false."""
    from datetime import datetime

    from skylaunch.conds import condition
    from skylaunch.conds.base import Context

    app = simulated_app("2024-01-01 09:00")
    ctx = Context(app.session.clock.now(), app.session)
    window = time_of_day.between("10:00", "12:00")
    polled = condition(lambda: False, "never_yet")
    ten = datetime.fromisoformat("2024-01-01T10:00:00+00:00")
    assert (window & polled).next_change(ctx) == ten
    # inside the window the function is polled again
    inside = Context(datetime.fromisoformat("2024-01-01T10:30:00+00:00"), app.session)
    assert (window & polled).next_change(inside) == polled.next_change(inside)
    # a true Any stays true until its latest true part turns false
    late = time_of_day.between("08:00", "11:00")
    assert (window | late).next_change(inside) == datetime.fromisoformat(
        "2024-01-01T12:00:00+00:00"
    )


def test_context_compares_by_instant_session_and_task() -> None:
    from datetime import datetime, timedelta

    from skylaunch import App
    from skylaunch.conds import Context

    app = App()
    now = datetime.fromisoformat("2024-01-01T10:30:00+00:00")
    ctx = Context(now, app.session)
    same = Context(now, app.session, None)
    assert ctx == same
    assert hash(ctx) == hash(same)
    assert ctx != Context(now + timedelta(seconds=1), app.session)
    assert ctx != "not a context"
    assert "2024, 1, 1, 10, 30" in repr(ctx)
    assert ctx.task is None
    assert ctx.ts == now.timestamp()


def test_all_and_any_take_their_parts_positionally_as_rocketry() -> None:
    a, b = every("1 hour"), after_success("x")
    assert All(a, b) == All((a, b)) == a & b
    assert Any(a, b) == a | b
    assert list(All(true, true, false)) == [true, true, false]
    assert str(Any(a, b)) == "every 1 hour | after task 'x'"
    with pytest.raises(TypeError, match="takes conditions"):
        All(a, "daily")  # type: ignore[arg-type]


def test_a_rocketry_style_condition_class_with_get_state_works() -> None:
    from skylaunch.conds import Condition

    class IsWeekend(Condition):
        def get_state(self) -> bool:
            return True

    class NamesItsTask(Condition):
        def get_state(self, task: object = None, session: object = None) -> bool:
            return getattr(task, "name", None) == "t"

        def __str__(self) -> str:
            return "names its task"

    app = simulated_app()
    app.task(name="t")(lambda: None)
    task = app.session["t"]
    assert IsWeekend().observe(session=app.session)
    assert NamesItsTask().observe(task=task)
    assert not (~NamesItsTask()).observe(task=task)


def test_observe_reads_naive_datetimes_of_its_periods_in_the_sessions_zone() -> None:
    """Rocketry's ``IsPeriod(StaticInterval(naive, naive))``: wall times in the session's zone."""
    from datetime import datetime, timezone

    from skylaunch.conds import IsPeriod
    from skylaunch.time import StaticInterval, aware

    app = simulated_app("2024-01-01 10:30", tz="Europe/Helsinki")  # 08:30 UTC
    helsinki_morning = IsPeriod(StaticInterval(datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 11)))
    assert helsinki_morning.observe(session=app.session)
    utc_morning = IsPeriod(StaticInterval(datetime(2024, 1, 1, 8), datetime(2024, 1, 1, 9)))
    assert not utc_morning.observe(session=app.session)  # 08:00 Helsinki is past
    # the zone is the session's now, also after config.timezone changes
    app.session.config.timezone = timezone.utc
    assert utc_morning.observe(session=app.session)
    assert not helsinki_morning.observe(session=app.session)
    # outside the session's evaluation a naive datetime is the system's local time again
    assert aware(datetime(2024, 1, 1, 10)) == datetime(2024, 1, 1, 10).astimezone()


def test_all_and_any_take_their_parts_as_conds_too_as_repr_prints_them() -> None:
    # the docstring promised All(conds=(a, b)), and repr() prints that form; it raised TypeError
    a, b = every("1 hour"), after_success("x")
    assert All(conds=(a, b)) == All(a, b)
    assert Any(conds=[a, b]) == Any(a, b)
    assert list(All(conds=(a, b))) == [a, b]
    assert eval(
        repr(All(true, false)), {"All": All, "AlwaysTrue": type(true), "AlwaysFalse": type(false)}
    ) == All(true, false)
    assert All(a, b)._replace(conds=(b,)) == All(b)
    with pytest.raises(TypeError, match="not both"):
        All(a, conds=(b,))
    with pytest.raises(TypeError, match="takes conditions"):
        Any(conds=(a, "daily"))  # type: ignore[arg-type]
