"""The condition string syntax: one small grammar, parsed when the task is defined.

::

    expr   := term ('|' term)*
    term   := factor ('&' factor)*
    factor := '~' factor | '(' expr ')' | phrase
    phrase := words and 'quoted names' up to the next operator or parenthesis

A phrase is read by the handler registered for its first word (``daily``, ``every``,
``after``...); a name given in ``names`` (conditions registered with ``@app.cond()``) is a phrase
too. Errors quote the text and point at the offending word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from types import MappingProxyType
from typing import TypeVar

from skylaunch.conds.base import All as _All
from skylaunch.conds.base import Any as _Any
from skylaunch.conds.base import Condition, Not, false, true
from skylaunch.conds.params import IsEnv, ParamExists
from skylaunch.conds.scheduler import SchedulerCycles, SchedulerRunning, SchedulerStarted
from skylaunch.conds.status import PERIOD_PHRASES, STATUS_VERBS, Op, TaskRunning, TaskStatus
from skylaunch.conds.task import (
    DependFailure,
    DependFinish,
    DependSuccess,
    Retry,
    depend_all,
    depend_any,
)
from skylaunch.conds.timing import (
    ADVERB_PERIODS,
    UNIT_PERIODS,
    Every,
    IsPeriod,
    TaskExecutable,
    TaskRunnable,
)
from skylaunch.exc import ConditionParseError
from skylaunch.time import Cron, TimeDelta, TimePeriod
from skylaunch.time.parse import to_timedelta

_T = TypeVar("_T")

__all__ = ["Grammar", "PhraseReader", "Token", "parse_condition", "parse_time", "tokenize"]


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "word", "name" (quoted), "op" (& | ~ ( ) ,)
    text: str
    pos: int


_TOKEN = re.compile(
    r"\s*(?:(?P<op>[&|~(),])|'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\"|(?P<word>[^\s&|~(),'\"]+))"
)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    end = len(text.rstrip())  # (not a strip of the rest per token: quadratic in the length)
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None:
            at = len(text) - len(text[pos:].lstrip())
            raise ConditionParseError(text, at, "a closing quote")
        start = match.start(match.lastgroup or 0)
        if match.group("op") is not None:
            tokens.append(Token("op", match.group("op"), start))
        elif match.group("word") is not None:
            tokens.append(Token("word", match.group("word"), start))
        else:
            name = match.group("sq") if match.group("sq") is not None else match.group("dq")
            tokens.append(Token("name", name, start - 1))
        pos = match.end()
    return tokens


class _Phrase:
    """The tokens of one phrase with a cursor, and error helpers that know the source text."""

    def __init__(self, text: str, tokens: list[Token], end: int) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.end = end  # source position just after the phrase

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def pos(self) -> int:
        tok = self.peek()
        return tok.pos if tok is not None else self.end

    def fail(self, expected: str, pos: int | None = None) -> ConditionParseError:
        return ConditionParseError(self.text, self.pos() if pos is None else pos, expected)

    def word(self, *choices: str) -> str:
        tok = self.peek()
        if tok is None or tok.kind != "word" or (choices and tok.text.lower() not in choices):
            raise self.fail(" or ".join(repr(c) for c in choices) if choices else "a word")
        self.i += 1
        return tok.text.lower()

    def accept(self, *choices: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.lower() in choices:
            self.i += 1
            return tok.text.lower()
        return None

    def name(self) -> str:
        tok = self.peek()
        if tok is None or tok.kind != "name":
            raise self.fail("a quoted task name such as 'fetch'")
        self.i += 1
        return tok.text

    def task_name(self) -> str:
        """A quoted task name: not empty, which no task can have (``task ''`` meant the own
        task to ``is running`` and printed without its name)."""
        tok = self.peek()
        if tok is not None and tok.kind == "name" and not tok.text:
            raise self.fail("a task name (not empty)")
        return self.name()

    def names(self) -> tuple[str, ...]:
        found = [self.task_name()]
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text == ",":
            self.i += 1
            found.append(self.task_name())
        return tuple(found)

    def rest(self, what: str, *, stop: tuple[str, ...] = ()) -> tuple[str, int]:
        """The remaining words (up to one of ``stop``) joined by spaces, and where they start."""
        start = self.pos()
        words: list[str] = []
        while (tok := self.peek()) is not None and tok.kind == "word":
            if tok.text.lower() in stop:
                break
            words.append(tok.text)
            self.i += 1
        if not words:
            raise self.fail(what)
        return " ".join(words), start

    def done(self) -> None:
        if self.peek() is not None:
            raise self.fail("the end of the condition or an operator (&, |)")


def _convert(ph: _Phrase, pos: int, what: str, func: Callable[[], _T]) -> _T:
    try:
        return func()
    except (ValueError, TypeError, OverflowError) as exc:
        raise ph.fail(f"{what} ({exc})", pos) from exc


def _period(ph: _Phrase, cls: type[TimePeriod]) -> TimePeriod:
    """Optional ``between a and b | before x | after x | starting x | on x | at x``."""
    kw = ph.accept("between", "before", "after", "starting", "on", "at")
    if kw is None:
        return cls()
    if kw == "between":
        start, spos = ph.rest("a start such as 10:00", stop=("and",))
        ph.word("and")
        end, _ = ph.rest("an end such as 12:00")
        return _convert(ph, spos, "a valid period", lambda: cls.between(start, end))
    value, vpos = ph.rest(f"a time after {kw!r}")
    window = {
        "before": cls.before,
        "after": cls.after,
        "starting": cls.starting,
        "on": cls.at,
        "at": cls.at,
    }[kw]
    return _convert(ph, vpos, f"a valid time after {kw!r}", lambda: window(value))


def _adverb(ph: _Phrase) -> Condition:
    """``daily [between ...] [with N retries] [catch up within D]``."""
    cls = ADVERB_PERIODS[ph.word()]
    grace: timedelta | None = None
    words = [t.text.lower() if t.kind == "word" else "" for t in ph.tokens]
    for i in range(1, len(words) - 1):
        if words[i] == "catch" and words[i + 1] == "up":
            rest = ph.tokens[i + 2 :]
            if rest and rest[0].kind == "word" and rest[0].text.lower() == "within":
                rest = rest[1:]
            if not rest or any(t.kind != "word" for t in rest):
                raise ph.fail("a duration after 'catch up within', such as '6 hours'")
            text = " ".join(t.text for t in rest)
            grace = _convert(ph, rest[0].pos, "a valid duration", partial(to_timedelta, text))
            ph.end = ph.tokens[i].pos
            ph.tokens = ph.tokens[:i]
            break
    retries = 0
    tail = [t.text.lower() for t in ph.tokens[-3:]]
    if len(ph.tokens) >= 4 and tail[0] == "with" and tail[2] in ("retry", "retries"):
        count = ph.tokens[-2]
        if count.kind != "word" or not count.text.isdigit():
            raise ph.fail("a whole number of retries", count.pos)
        retries = int(count.text)
        ph.end = ph.tokens[-3].pos  # the period's words end before "with"
        ph.tokens = ph.tokens[:-3]
    return TaskExecutable(_period(ph, cls), retries=retries, catch_up_within=grace)


def _time(ph: _Phrase) -> Condition:
    ph.word("time")
    ph.word("of")
    unit = ph.word(*UNIT_PERIODS)
    return IsPeriod(_period(ph, UNIT_PERIODS[unit]))


def _every(ph: _Phrase) -> Condition:
    """``every D [after run|success|fail|finish] [with jitter D [seed N]]``."""
    ph.word("every")
    text, pos = ph.rest("a duration such as '10 minutes'", stop=("after", "with"))
    based = "run"
    if ph.accept("after"):
        based = ph.word("run", "success", "fail", "finish")
    period = _convert(ph, pos, "a duration such as '10 minutes'", lambda: to_timedelta(text))
    jitter: object = None
    seed = 0
    if ph.accept("with"):
        ph.word("jitter")
        jtext, jpos = ph.rest("a jitter such as '5 minutes'", stop=("seed",))
        jitter = _convert(ph, jpos, "a jitter such as '5 minutes'", lambda: to_timedelta(jtext))
        if ph.accept("seed"):
            seed = _int(ph)
    return _convert(
        ph,
        pos,
        "a duration such as '10 minutes'",
        lambda: Every(period, based=based, jitter=jitter, seed=seed),  # type: ignore[arg-type]
    )


_DEPEND = {"succeeded": DependSuccess, "failed": DependFailure, "finished": DependFinish}


def _after(ph: _Phrase) -> Condition:
    ph.word("after")
    mode = ph.word("task", "tasks", "any", "all")
    if mode == "any":
        ph.word("tasks", "task")
    elif mode == "all":
        ph.word("tasks")
    names = ph.names()
    outcome = ph.accept(*_DEPEND) or "succeeded"
    kind = _DEPEND[outcome]
    if mode == "task":
        if len(names) != 1:
            raise ph.fail("one task name after 'after task' (use 'after tasks' for several)")
        return kind(names[0])
    if mode == "any":
        return depend_any(kind, names)
    return depend_all(kind, names)


def _int(ph: _Phrase) -> int:
    tok = ph.peek()
    if tok is None or tok.kind != "word" or not tok.text.isdigit():
        raise ph.fail("a whole number")
    try:
        n = int(tok.text)
    except ValueError:  # '²' is a digit to isdigit(), not to int(); so is a 5,000-digit number
        raise ph.fail("a whole number") from None
    ph.i += 1
    return n


def _scheduler(ph: _Phrase) -> Condition:
    ph.word("scheduler")
    if ph.accept("started"):
        if ph.peek() is None:  # Rocketry's SchedulerStarted(): started at all
            return SchedulerStarted()
        period = _status_period(ph)
        if period is None:  # Rocketry's "scheduler started 10 minutes ago"
            text, pos = ph.rest("a period such as 'today' or 'in past 10 minutes'", stop=("ago",))
            ph.word("ago")
            period = _convert(ph, pos, "a duration", lambda: TimeDelta(text))
        return SchedulerStarted(period)
    ph.word("has", "started")
    if ph.accept("run"):
        way = ph.word("over", "under")
        text, pos = ph.rest("a duration such as '10 minutes'")
        delta = _convert(ph, pos, "a duration", lambda: to_timedelta(text))
        return SchedulerRunning(delta, more=way == "over")
    bound = ph.accept("more", "less")
    if bound is not None:
        ph.word("than")
    n = _int(ph)
    ph.word("cycles", "cycle")
    if bound is None:
        return SchedulerCycles(op="==", n=n)
    return SchedulerCycles() > n if bound == "more" else SchedulerCycles() < n


def _retry(ph: _Phrase) -> Condition:
    """``retry [N [times]] [with delay D [backoff B] [max delay D]]`` (no N: forever)."""
    ph.word("retry")
    n = -1
    tok = ph.peek()
    if tok is not None and tok.kind == "word" and tok.text.isdigit():
        n = _int(ph)
        ph.accept("times", "time")
    if not ph.accept("with"):
        return Retry(n)
    ph.word("delay")
    delay, dpos = ph.rest("a delay such as '10 minutes'", stop=("backoff", "max"))
    backoff: float = 1
    if ph.accept("backoff"):
        tok = ph.peek()
        bpos = ph.pos()
        text = tok.text if tok is not None and tok.kind == "word" else ""
        backoff = _convert(ph, bpos, "a backoff factor such as 2", lambda: float(text))
        ph.i += 1
    max_delay: str | None = None
    mpos = ph.pos()
    if ph.accept("max"):
        ph.word("delay")
        max_delay, mpos = ph.rest("a maximum delay such as '1 hour'")
    return _convert(
        ph,
        mpos if max_delay is not None else dpos,
        "a valid retry delay",
        lambda: Retry(n, delay=delay, backoff=backoff, max_delay=max_delay),
    )


_STATUS_UNITS = {words: cls for cls, words in PERIOD_PHRASES.items()}
_COUNT_WORDS: dict[str, Op] = {
    "least": ">=",
    "most": "<=",
}


def _count(ph: _Phrase) -> tuple[Op, int] | None:
    """Optional ``at least|at most|more than|less than|exactly|not exactly N time(s)``."""
    tok = ph.peek()
    if tok is None or tok.kind != "word":
        return None
    word = tok.text.lower()
    op: Op
    if word == "at":
        nxt = ph.tokens[ph.i + 1] if ph.i + 1 < len(ph.tokens) else None
        if nxt is None or nxt.text.lower() not in _COUNT_WORDS:
            return None  # "at 10:00" of a period
        ph.i += 2
        op = _COUNT_WORDS[nxt.text.lower()]
    elif word in ("more", "less"):
        ph.i += 1
        ph.word("than")
        op = ">" if word == "more" else "<"
    elif word == "exactly":
        ph.i += 1
        op = "=="
    elif word == "not":
        ph.i += 1
        ph.word("exactly")
        op = "!="
    elif word.isdigit():
        op = "=="
    else:
        return None
    n = _int(ph)
    ph.word("times", "time")
    return op, n


def _status_period(ph: _Phrase, *, required: bool = False) -> TimePeriod | None:
    """Optional ``this hour|today|this week... [between ...]`` or ``[in] past <duration>``."""
    if ph.accept("in"):
        ph.word("past")
        return _past(ph)
    if ph.accept("past"):
        return _past(ph)
    tok = ph.peek()
    if tok is not None and tok.kind == "word" and tok.text.lower() in ("today", "this"):
        words = ph.word()
        if words == "this":
            words += " " + ph.word("second", "minute", "hour", "day", "week", "month")
        cls = _STATUS_UNITS.get(words, UNIT_PERIODS["day"])
        return _period(ph, cls)
    if required:
        raise ph.fail("a period: 'today', 'this hour', 'this week'..., or 'in past 10 minutes'")
    return None


def _past(ph: _Phrase) -> TimePeriod:
    text, pos = ph.rest("a duration such as '10 minutes'")
    return _convert(ph, pos, "a duration such as '10 minutes'", lambda: TimeDelta(text))


def _status(ph: _Phrase, task: str | None) -> Condition:
    """``has <verb> [count] [period]`` or ``is running [count] [for ...]``, after the task."""
    if ph.accept("is"):
        return _running(ph, task)
    ph.word("has")
    verb = ph.word(*STATUS_VERBS)
    cond: TaskStatus = STATUS_VERBS[verb](task=task)  # type: ignore[call-arg]
    counted = _count(ph)
    if counted is not None:
        cond = cond._compare(*counted)
    period = _status_period(ph)
    if period is not None:
        cond = cond._period(period)
    return cond


def _running(ph: _Phrase, task: str | None) -> Condition:
    ph.word("running")
    cond = TaskRunning(task=task)
    counted = _count(ph)
    if counted is not None:
        cond = cond._compare(*counted)
    if ph.accept("for"):
        way = ph.word("more", "less")
        ph.word("than")
        text, pos = ph.rest("a duration such as '10 minutes'", stop=("and",))
        first = _convert(ph, pos, "a duration", lambda: to_timedelta(text))
        if way == "less":
            return _convert(ph, pos, "a valid duration", lambda: cond.less_than(first))
        if ph.accept("and"):
            ph.word("less")
            ph.word("than")
            text2, pos2 = ph.rest("a duration such as '10 minutes'")
            second = _convert(ph, pos2, "a duration", lambda: to_timedelta(text2))
            return _convert(
                ph,
                pos2,
                "a longer second duration",
                lambda: cond.between(first, second),
            )
        return cond.more_than(first)
    return cond


def _own_status(ph: _Phrase) -> Condition:
    return _status(ph, None)


def _task_status(ph: _Phrase) -> Condition:
    ph.accept("while")
    ph.word("task")
    return _status(ph, ph.task_name())


def _cron(ph: _Phrase) -> Condition:
    kind = ph.word("cron", "crontime")
    start = ph.pos()
    if ph.peek() is None:
        raise ph.fail("a cron expression such as '*/5 * * * *' or '@daily'")
    raw = ph.text[start : ph.end].strip()
    ph.i = len(ph.tokens)
    period: Cron = _convert(ph, start, "a valid cron expression", lambda: Cron.from_expr(raw))
    return TaskRunnable(period) if kind == "cron" else IsPeriod(period)


def _env(ph: _Phrase) -> Condition:
    ph.word("env")
    tok = ph.peek()
    name = ph.name()
    return _convert(ph, tok.pos if tok else ph.end, "an environment name", lambda: IsEnv(name))


def _param(ph: _Phrase) -> Condition:
    ph.word("param", "params")
    keys: list[str] = []
    values: dict[str, str] = {}
    while True:
        if (tok := ph.peek()) is not None and tok.kind == "name" and not tok.text:
            raise ph.fail("a parameter name (not empty)")
        key = ph.name()
        if ph.word("exists", "is") == "exists":
            keys.append(key)
        else:
            values[key] = ph.name()
        tok = ph.peek()
        if tok is None or tok.kind != "op" or tok.text != ",":
            break
        ph.i += 1
    return ParamExists(*keys, **values)


def _constant(ph: _Phrase) -> Condition:
    """``true``, ``false``, and Rocketry's ``always true`` / ``always false``."""
    ph.accept("always")
    return true if ph.word("true", "false") == "true" else false


#: First word of a phrase -> its reader: the grammar every session shares, read-only. A
#: session's own conditions and phrases go in its :class:`Grammar` (``session.grammar``).
_PHRASES: Mapping[str, Callable[[_Phrase], Condition]] = MappingProxyType(
    {
        **dict.fromkeys(ADVERB_PERIODS, _adverb),
        "time": _time,
        "every": _every,
        "after": _after,
        "scheduler": _scheduler,
        "retry": _retry,
        "true": _constant,
        "false": _constant,
        "always": _constant,
        "has": _own_status,
        "is": _own_status,
        "task": _task_status,
        "while": _task_status,
        "cron": _cron,
        "crontime": _cron,
        "env": _env,
        "param": _param,
        "params": _param,
    }
)


#: The deepest nesting of '(' and '~' accepted: far beyond any hand-written condition, and well
#: inside Python's recursion limit for the parser and for the condition built.
_MAX_NESTING = 100


PhraseReader = Callable[[str], Condition]
"""A phrase of your own (:meth:`Grammar.add_phrase`): it gets the words after its first word
as written, joined by single spaces ("" when there are none), and returns the condition."""


class Grammar:
    """One session's condition language: the built-in phrases, shared and read-only, plus the
    conditions and phrases registered on this grammar alone (``session.grammar``).

    ``names`` maps whole phrases to conditions (``@app.cond()`` adds there); a phrase added
    with :meth:`add_phrase` is read whenever a phrase starts with its word. Neither can
    change a built-in phrase, nor how any other session parses.
    """

    def __init__(self, names: dict[str, Condition] | None = None) -> None:
        self.names: dict[str, Condition] = {} if names is None else names
        self._phrases: dict[str, Callable[[_Phrase], Condition]] = {}

    def add(self, name: str, cond: Condition) -> None:
        """Let ``name`` (the whole phrase, e.g. ``"is_foo"``) stand for ``cond``."""
        if not isinstance(cond, Condition):
            raise TypeError(f"{name!r} must name a condition, got {cond!r}")
        self.names[name] = cond

    def add_phrase(self, word: str, reader: PhraseReader) -> None:
        """Read phrases that start with ``word`` (one word, not a built-in one) with ``reader``.

        ``grammar.add_phrase("weekday", lambda rest: ...)`` makes ``"weekday monday"`` call
        ``reader("monday")``. A reader that raises ``ValueError`` gives a parse error that
        points at the phrase.
        """
        key = word.lower() if isinstance(word, str) else word
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"a phrase starts with one plain word; got {word!r}")
        if key in _PHRASES:
            raise ValueError(f"{word!r} is a built-in phrase of the condition language")
        if not callable(reader):
            raise TypeError(f"the reader of {word!r} must be a function (rest) -> condition")

        def read(ph: _Phrase) -> Condition:
            ph.word()
            pos = ph.pos()
            rest: list[str] = []
            while (tok := ph.peek()) is not None:
                rest.append(tok.text if tok.kind != "name" else repr(tok.text))
                ph.i += 1
            cond = _convert(ph, pos, f"the {key!r} phrase", lambda: reader(" ".join(rest)))
            if not isinstance(cond, Condition):
                raise ph.fail(f"the {key!r} phrase to give a condition, not {cond!r}", pos)
            return cond

        self._phrases[key] = read

    def reader(self, word: str) -> Callable[[_Phrase], Condition] | None:
        return self._phrases.get(word) or _PHRASES.get(word)

    def words(self) -> list[str]:
        """Every word a phrase may start with (built-in and this grammar's own)."""
        return sorted({*_PHRASES, *self._phrases})

    def parse(self, text: str) -> Condition:
        """Build the condition ``text`` describes in this grammar."""
        if not isinstance(text, str):
            raise TypeError(f"a condition string is needed, got {text!r}")
        return _Parser(text, self).parse()


class _Parser:
    def __init__(self, text: str, grammar: Grammar) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.grammar = grammar
        self.names = grammar.names
        self.depth = 0

    def peek_op(self, *ops: str) -> bool:
        if self.i >= len(self.tokens):
            return False
        tok = self.tokens[self.i]
        return tok.kind == "op" and tok.text in ops

    def pos(self) -> int:
        return self.tokens[self.i].pos if self.i < len(self.tokens) else len(self.text)

    def parse(self) -> Condition:
        if not self.tokens:
            raise ConditionParseError(self.text, 0, "a condition (the text is empty)")
        cond = self.expr()
        if self.i < len(self.tokens):
            raise ConditionParseError(self.text, self.pos(), "an operator (&, |) or the end")
        return cond

    def expr(self) -> Condition:
        parts = [self.term()]
        while self.peek_op("|"):
            self.i += 1
            parts.append(self.term())
        return _Any.of(*parts)

    def term(self) -> Condition:
        parts = [self.factor()]
        while self.peek_op("&"):
            self.i += 1
            parts.append(self.factor())
        return _All.of(*parts)

    def factor(self) -> Condition:
        if not self.peek_op("~", "("):
            return self.phrase()
        if self.depth >= _MAX_NESTING:
            raise ConditionParseError(
                self.text, self.pos(), f"at most {_MAX_NESTING} nested '(' and '~'"
            )
        self.depth += 1
        try:
            if self.peek_op("~"):
                self.i += 1
                return Not(self.factor())
            open_pos = self.pos()
            self.i += 1
            cond = self.expr()
            if not self.peek_op(")"):
                raise ConditionParseError(
                    self.text, self.pos(), f"')' to close the '(' at position {open_pos}"
                )
            self.i += 1
            return cond
        finally:
            self.depth -= 1

    def phrase(self) -> Condition:
        start = self.i
        while self.i < len(self.tokens):
            tok = self.tokens[self.i]
            if tok.kind == "op" and tok.text in "&|~()":
                break
            self.i += 1
        tokens = self.tokens[start : self.i]
        end = self.pos()
        if not tokens:
            raise ConditionParseError(self.text, end, "a condition")
        ph = _Phrase(self.text, tokens, end)
        first = tokens[0]
        if first.kind == "word":
            whole = " ".join(t.text for t in tokens)
            if whole in self.names:
                return self.names[whole]
            reader = self.grammar.reader(first.text.lower())
            if reader is not None:
                cond = reader(ph)
                ph.done()
                return cond
        known = ", ".join(self.grammar.words())
        hint = (
            f"; or one of the registered conditions: {', '.join(sorted(self.names))}"
            if self.names
            else ""
        )
        raise ConditionParseError(
            self.text, first.pos, f"a condition starting with one of: {known}{hint}"
        )


def parse_condition(
    text: str | bool | Condition, names: Mapping[str, Condition] | None = None
) -> Condition:
    """Build the condition ``text`` describes; ``names`` adds custom conditions by name.

    As in Rocketry, ``True``/``False`` give ``true``/``false`` and a condition is returned as
    is. A session parses with its own :class:`Grammar` (``session.grammar.parse``), which may
    also have phrases of its own.
    """
    if isinstance(text, bool):
        return true if text else false
    if isinstance(text, Condition):
        return text
    if not isinstance(text, str):
        raise TypeError(f"a condition string is needed, got {text!r}")
    return Grammar(dict(names or {})).parse(text)


def parse_time(text: str) -> TimePeriod:
    """The period a time phrase names (Rocketry's ``parse_time``).

    ``"time of day between 10:00 and 12:00"`` gives ``TimeOfDay("10:00", "12:00")``,
    ``"every 10 seconds"`` a ``TimeDelta``, ``"always"``/``"never"`` those periods, and
    phrases joined with ``&``/``|`` the periods combined. Anything else (a task's status, a
    dependency) is not a period and raises :class:`ConditionParseError`.
    """
    from skylaunch.time import always, never

    if isinstance(text, str) and text.strip() in ("always", "never"):
        return always if text.strip() == "always" else never

    def period(cond: Condition) -> TimePeriod:
        if isinstance(cond, IsPeriod):
            return cond.period
        if isinstance(cond, Every):
            return TimeDelta(cond.period)
        if cond in (true, false):
            return always if cond == true else never
        if isinstance(cond, _All | _Any):
            parts = [period(c) for c in cond.conds]
            combined = parts[0]
            for part in parts[1:]:
                combined = combined & part if isinstance(cond, _All) else combined | part
            return combined
        raise ConditionParseError(text, 0, f"a time period, not {type(cond).__name__}")

    return period(parse_condition(text))
