"""The Python examples in README.md and docs/*.md run against the current code.

Pages are read as a reader would: each ```python block continues the earlier blocks of the same
page, so the blocks of a page run in order in one namespace. A block that needs a service, a
file outside the working directory or runs forever is marked with ``<!-- skip-test: why -->`` on the
line before its fence; it must still compile. A block made of ``>>>`` lines runs through doctest
with the page's namespace.

No block may block or touch the wall clock: every ``App`` built by a page gets a
:class:`SimulatedClock` (unless the page gives one), runs its tasks in the main thread (unless
the page says otherwise) and ``app.run()`` runs ten simulated minutes.
"""

from __future__ import annotations

import doctest
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from skylaunch.app import App
from skylaunch.testing import run_for
from skylaunch.time.clock import SimulatedClock

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP_MARK = re.compile(r"^<!-- skip-test: \S.* -->$")
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    skip: bool

    @property
    def label(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def is_doctest(self) -> bool:
        return self.code.lstrip().startswith(">>>")


def blocks_of(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"{page.relative_to(ROOT)}:{start + 1}: unclosed code fence")
        i += 1
        before = [line for line in lines[:start] if line.strip()]
        skip = bool(before) and SKIP_MARK.match(before[-1].strip()) is not None
        found.append(Block(page, start + 1, match.group(1), "\n".join(body) + "\n", skip))
    return found


def python_blocks(page: Path) -> list[Block]:
    return [b for b in blocks_of(page) if b.lang == "python"]


ALL_BLOCKS = [b for page in PAGES for b in python_blocks(page)]


def test_pages_have_examples() -> None:
    # Guards the extraction itself: a broken fence regex would make every test below vacuous.
    assert len(ALL_BLOCKS) >= 30
    assert any(b.is_doctest for b in ALL_BLOCKS)


def test_skip_marks_precede_python_blocks() -> None:
    # A mark before a non-Python block (or lost in prose) would silently skip nothing.
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        marked = {n + 1 for n, line in enumerate(lines) if "skip-test" in line}
        used = {
            next(n for n in range(b.line - 1, 0, -1) if lines[n - 1].strip())
            for b in python_blocks(page)
            if b.skip
        }
        assert marked == used, (
            f"{page.name}: a skip-test mark without a reason or a block at lines {sorted(marked - used)}"
        )


@pytest.mark.parametrize(
    "block", [b for b in ALL_BLOCKS if not b.is_doctest], ids=lambda b: b.label
)
def test_block_compiles(block: Block) -> None:
    compile(block.code, block.label, "exec")


def _simulated_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give every App a simulated clock and make ``app.run()`` a short simulated run."""
    real_init = App.__init__

    def init(self: App, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("session") is None and (len(args) < 1 or args[0] is None):
            kwargs.setdefault("clock", SimulatedClock("2024-01-01 00:00", tz=None))
            config = kwargs.get("config") or (args[2] if len(args) > 2 else None) or {}
            if "execution" not in config and "execution" not in kwargs:
                # Runs in the main thread happen at the virtual instant they start.
                kwargs["execution"] = "main"
        real_init(self, *args, **kwargs)

    def run(self: App, debug: bool = False) -> None:
        run_for(self, "10 minutes")

    monkeypatch.setattr(App, "__init__", init)
    monkeypatch.setattr(App, "run", run)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Undo what a page does to ``logging`` (handlers on ``skylaunch.task``, dictConfig)."""
    manager = logging.Logger.manager
    loggers = [
        logging.getLogger(),
        *(v for v in manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    saved = {
        id(lg): (lg, list(lg.handlers), list(lg.filters), lg.level, lg.propagate, lg.disabled)
        for lg in loggers
    }
    yield
    now = [
        logging.getLogger(),
        *(v for v in manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    for lg in now:
        handlers, filters, level, propagate, disabled = saved.get(
            id(lg), (lg, [], [], logging.NOTSET, True, False)
        )[1:]
        for handler in lg.handlers:
            if handler not in handlers:
                handler.close()
        lg.handlers[:] = handlers
        lg.filters[:] = filters
        lg.setLevel(level)
        lg.propagate = propagate
        lg.disabled = disabled


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if python_blocks(p)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples writing relative files (tasks.csv, app.db) write here
    monkeypatch.setenv("SMTP_PASSWORD", "not-a-secret")
    _simulated_app(monkeypatch)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    parser = doctest.DocTestParser()
    for block in python_blocks(page):
        if block.skip:
            continue
        if block.is_doctest:
            test = parser.get_doctest(block.code, namespace, block.label, str(page), block.line)
            result = runner.run(test, clear_globs=False)
            assert result.failed == 0, f"{block.label}: doctest failed (output above)"
            continue
        try:
            exec(compile(block.code, block.label, "exec"), namespace)  # noqa: S102 - the point
        except Exception as exc:
            raise AssertionError(f"{block.label} raised {exc!r}") from exc
