"""Constructs past Rocketry: retry with delay and backoff, jitter, retries per period, bare
``retry``, ``always true``; each evaluated on a simulated clock and printed/parsed back."""

from __future__ import annotations

import itertools
import pickle
from datetime import datetime, timedelta

import pytest

from skylaunch.conds import (
    Retry,
    TaskExecutable,
    daily,
    every,
    false,
    parse_condition,
    retry,
    true,
)
from skylaunch.conds.base import Condition, Context
from skylaunch.exc import ConditionParseError
from skylaunch.testing import explain, is_due, run_for, runs, seed, simulated_app
from skylaunch.time import TimeOfDay


def ctx_at(cond: Condition, history: list[tuple[str, str]], now: str, name: str = "job") -> Context:
    app = simulated_app("2024-01-01 00:00")
    app.task(cond, name=name)(lambda: None)
    seed(app, name, history)  # type: ignore[arg-type]
    session = app.session
    return Context(
        datetime.fromisoformat(now).replace(tzinfo=session.clock.tz), session, session[name]
    )


FAIL_1 = [("2024-01-01 10:00", "run"), ("2024-01-01 10:01", "fail")]
FAIL_2 = [*FAIL_1, ("2024-01-01 10:11", "run"), ("2024-01-01 10:12", "fail")]
FAIL_3 = [*FAIL_2, ("2024-01-01 10:32", "run"), ("2024-01-01 10:33", "fail")]


# -- retry with delay and backoff --------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "now", "expected", "change"),
    [
        # 1st retry: 10 minutes after the failure
        (FAIL_1, "2024-01-01 10:10:59", False, "2024-01-01 10:11:00"),
        (FAIL_1, "2024-01-01 10:11:00", True, None),
        # 2nd retry: 20 minutes after the 2nd failure
        (FAIL_2, "2024-01-01 10:31:59", False, "2024-01-01 10:32:00"),
        (FAIL_2, "2024-01-01 10:32:00", True, None),
        # 3rd retry: 40 minutes, capped at 30
        (FAIL_3, "2024-01-01 11:02:59", False, "2024-01-01 11:03:00"),
        (FAIL_3, "2024-01-01 11:03:00", True, None),
        # a 4th failure is past the limit: never again (until a reset)
        (
            [*FAIL_3, ("2024-01-01 11:03", "run"), ("2024-01-01 11:04", "fail")],
            "2024-01-02 00:00",
            False,
            None,
        ),
        # while the retry runs: false, only a task event changes it
        ([*FAIL_1, ("2024-01-01 10:11", "run")], "2024-01-01 10:20", False, None),
    ],
)
def test_retry_waits_delay_times_backoff(
    history: list[tuple[str, str]], now: str, expected: bool, change: str | None
) -> None:
    cond = retry(3, delay="10 minutes", backoff=2, max_delay="30 minutes")
    ctx = ctx_at(cond, history, now)
    assert cond.is_true(ctx) is expected
    found = cond.next_change(ctx)
    if change is None:
        assert found is None
    else:
        assert found == datetime.fromisoformat(change).replace(tzinfo=ctx.now.tzinfo)
        assert cond.is_true(Context(found, ctx.session, ctx.task)) is True


def test_retry_with_delay_runs_on_the_simulated_clock() -> None:
    app = simulated_app("2024-01-01 10:00")

    @app.task(daily | retry(3, delay="10 minutes", backoff=2))
    def flaky() -> None:
        raise RuntimeError("down")

    run_for(app, "2 hours")
    starts = [t.strftime("%H:%M") for t in runs(app, "flaky")]
    # the first run at once, then 10, 20 and 40 minutes after each failure
    assert starts == ["10:00", "10:10", "10:30", "11:10"]


def test_retry_forms_and_defaults() -> None:
    assert Retry() == Retry(1)  # Rocketry's default: one retry
    assert retry == Retry(None) == Retry(-1) == retry(None) == retry()
    assert retry(3) == Retry(3)
    assert str(retry) == "retry"
    assert str(daily | retry) == "daily | retry"
    assert str(~retry) == "~retry"
    assert parse_condition("daily | retry") == daily | retry
    assert parse_condition("~retry") == ~retry
    cond = retry(3, delay="10 minutes", backoff=2, max_delay="1 hour")
    assert str(cond) == "retry 3 with delay 10 minutes backoff 2 max delay 1 hour"
    assert repr(cond) == (
        "Retry(n=3, task=None, delay=datetime.timedelta(seconds=600), backoff=2, "
        "max_delay=datetime.timedelta(seconds=3600))"
    )
    assert pickle.loads(pickle.dumps(cond)) == cond
    assert hash(cond) == hash(retry(3, delay=600, backoff=2.0, max_delay=3600))
    assert retry(3, delay=1) != retry(3)


@pytest.mark.parametrize(
    ("text", "cond"),
    [
        ("retry", retry),
        ("retry 3", retry(3)),
        ("retry 3 times with delay 10 minutes", retry(3, delay="10 minutes")),
        ("retry with delay 1 minute backoff 1.5", retry(delay=60, backoff=1.5)),
        ("retry 2 with delay 30 seconds max delay 1 minute", retry(2, delay=30, max_delay=60)),
    ],
)
def test_retry_string_form(text: str, cond: Condition) -> None:
    assert parse_condition(text) == cond
    assert parse_condition(str(cond)) == cond


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda: retry(-2), ValueError, "n >= 0"),
        (lambda: retry(1.5), ValueError, "n >= 0"),  # type: ignore[arg-type]
        (lambda: retry(3, delay="-1 s"), ValueError, "negative"),
        (lambda: retry(3, delay=10, backoff=0.5), ValueError, "backoff"),
        (lambda: retry(3, delay=10, backoff=float("nan")), ValueError, "backoff"),
        (lambda: retry(3, delay=10, backoff="2"), TypeError, "backoff"),  # type: ignore[arg-type]
        (lambda: retry(3, backoff=2), ValueError, "need a delay"),
        (lambda: retry(3, max_delay=10), ValueError, "need a delay"),
        (lambda: retry(3, delay=60, max_delay=10), ValueError, "at least the delay"),
    ],
)
def test_retry_refuses_bad_arguments(call: object, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        call()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "pos"),
    [
        ("retry 3 with delay", 18),
        ("retry 3 with delay 1 minute backoff x", 36),
        ("retry 3 with pause 1 minute", 13),
        ("retry 3 with delay 1 minute max delay 1 second", 38),
    ],
)
def test_retry_string_errors_point_at_the_word(text: str, pos: int) -> None:
    with pytest.raises(ConditionParseError) as info:
        parse_condition(text)
    assert info.value.position == pos


def test_huge_backoff_means_never_again_not_an_error() -> None:
    # the 3rd retry would wait 1 day * (1e200 ** 2): past any datetime, and past float range
    for backoff in (1e6, 1e200):
        cond = retry(delay="1 day", backoff=backoff)
        ctx = ctx_at(cond, FAIL_3, "2024-01-02 00:00")
        assert cond.is_true(ctx) is False
        assert cond.next_change(ctx) is None


def test_explain_shows_when_the_retry_is_due() -> None:
    cond = daily | retry(3, delay="10 minutes")
    ctx = ctx_at(cond, FAIL_1, "2024-01-01 10:05")
    text = str(explain(cond, ctx))
    assert "retry 3 with delay 10 minutes" in text
    assert "10:11" in text


# -- TaskExecutable(period, retries=n) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("retries", "history", "expected"),
    [
        (0, FAIL_1, False),
        (1, FAIL_1, True),
        (1, FAIL_2, False),
        (2, FAIL_2, True),
        (2, [("2024-01-01 10:00", "run"), ("2024-01-01 10:01", "success")], False),
        (2, [("2024-01-01 10:00", "run"), ("2024-01-01 10:01", "inaction")], False),
    ],
)
def test_task_executable_allows_retries_in_the_period(
    retries: int, history: list[tuple[str, str]], expected: bool
) -> None:
    cond = TaskExecutable(TimeOfDay(), retries=retries)
    ctx = ctx_at(cond, history, "2024-01-01 12:00")
    assert cond.is_true(ctx) is expected
    change = cond.next_change(ctx)
    # due: only a task event ends it (days touch); not due: the next day's start
    assert change == (None if expected else datetime(2024, 1, 2, tzinfo=ctx.now.tzinfo))


def test_task_executable_retries_string_form() -> None:
    cond = TaskExecutable(TimeOfDay.between("10:00", "12:00"), retries=2)
    assert str(cond) == "daily between 10:00 and 12:00 with 2 retries"
    assert parse_condition(str(cond)) == cond
    assert str(TaskExecutable(TimeOfDay(), retries=1)) == "daily with 1 retry"
    assert parse_condition("daily with 0 retries") == daily
    assert daily.between("10:00", "12:00") != cond
    with pytest.raises(ValueError, match="retries"):
        TaskExecutable(TimeOfDay(), retries=-1)
    with pytest.raises(ConditionParseError) as info:
        parse_condition("daily with x retries")
    assert info.value.position == 11


# -- every(..., jitter=) -----------------------------------------------------------------------


def test_jitter_offset_is_reproducible_and_bounded() -> None:
    cond = every("1 hour", jitter="5 minutes")
    offsets = {cond.offset("job", 1_700_000_000.0 + 3600 * i) for i in range(200)}
    assert all(timedelta(0) <= o < timedelta(minutes=5) for o in offsets)
    assert len(offsets) > 150  # spread, not one value
    assert cond.offset("job", 1_700_000_000.0) == every("1h", jitter=300).offset(
        "job", 1_700_000_000.0
    )
    assert cond.offset("job", 1_700_000_000.0) != cond.offset("other", 1_700_000_000.0)
    seeded = every("1 hour", jitter="5 minutes", seed=7)
    assert seeded.offset("job", 1_700_000_000.0) != cond.offset("job", 1_700_000_000.0)


def test_jitter_next_change_is_exact() -> None:
    cond = every("1 hour", jitter="5 minutes")
    ctx = ctx_at(cond, [("2024-01-01 10:00", "run")], "2024-01-01 10:30")
    assert cond.is_true(ctx) is False
    due = cond.next_change(ctx)
    assert due is not None
    offset = cond.offset("job", ctx.now.replace(hour=10, minute=0).timestamp())
    assert due == ctx.now.replace(hour=11, minute=0) + offset
    assert offset > timedelta(0)
    assert cond.is_true(Context(due, ctx.session, ctx.task)) is True
    just_before = Context(due - timedelta(microseconds=1), ctx.session, ctx.task)
    assert cond.is_true(just_before) is False


def _jittered_starts(seed_value: int) -> list[datetime]:
    app = simulated_app("2024-01-01 00:00")

    @app.task(every("1 hour", jitter="10 minutes", seed=seed_value))
    def job() -> None: ...

    run_for(app, "6 hours")
    return runs(app, "job")


def test_jitter_is_the_same_on_every_replay() -> None:
    first, again, other = _jittered_starts(0), _jittered_starts(0), _jittered_starts(1)
    assert first == again
    assert first != other
    gaps = [b - a for a, b in itertools.pairwise(first)]
    assert all(timedelta(hours=1) <= g < timedelta(hours=1, minutes=10) for g in gaps)
    assert len(set(gaps)) > 1


@pytest.mark.parametrize(
    ("text", "cond"),
    [
        ("every 1 hour with jitter 5 minutes", every("1 hour", jitter="5 minutes")),
        (
            "every 1 hour after success with jitter 5 minutes seed 7",
            every("1 hour", based="success", jitter="5 minutes", seed=7),
        ),
    ],
)
def test_jitter_string_form(text: str, cond: Condition) -> None:
    assert parse_condition(text) == cond
    assert str(cond) == text


def test_jitter_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="negative"):
        every("1 hour", jitter=timedelta(seconds=-1))
    with pytest.raises(ValueError, match="seed"):
        every("1 hour", jitter="1 s", seed=-1)
    with pytest.raises(ConditionParseError):
        parse_condition("every 1 hour with jitter")
    with pytest.raises(ConditionParseError):
        parse_condition("every 1 hour with jitter 1 minute seed x")


# -- always true / always false -----------------------------------------------------------------


def test_always_true_and_false_strings() -> None:
    assert parse_condition("always true") == true
    assert parse_condition("always false") == false
    assert parse_condition("daily & ~always false") == daily & ~false
    with pytest.raises(ConditionParseError):
        parse_condition("always maybe")


def test_is_due_explains_a_jittered_every() -> None:
    app = simulated_app("2024-01-01 10:30")
    app.task(every("1 hour", jitter="5 minutes"), name="job")(lambda: None)
    seed(app, "job", [("2024-01-01 10:00", "run")])
    answer = is_due(app, "job")
    assert not answer
    assert "every 1 hour with jitter 5 minutes" in str(answer)
