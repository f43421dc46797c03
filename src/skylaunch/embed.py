"""Running a scheduler inside another program: a web app's event loop, or a thread of its own.

Three ways, each a method of :class:`~skylaunch.app.App` that calls into this module:

- ``async with app.running():`` in an ASGI lifespan (FastAPI, Starlette): the scheduler runs as
  an asyncio task of the server's loop, starts before the first request and stops, its runs
  ended, when the server stops. Signals stay the server's: Ctrl-C and SIGTERM stop the server,
  which leaves the lifespan, which shuts the scheduler down.
- ``app.start()`` / ``app.stop(timeout=)``: the scheduler runs in a daemon thread with an event
  loop of its own (Flask, Django, scripts); ``stop`` is also called at interpreter exit.
- ``app.run()`` inside a running event loop (Jupyter) is refused with a clear message.

In someone else's event loop, a task with ``execution="main"`` runs on that loop's thread and
holds every request until it returns: :func:`check_blocking` warns about such tasks. ``thread``,
``process`` and ``async`` (plain functions go to a worker thread; coroutines must not block)
keep the loop free.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import warnings
import weakref
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skylaunch.session import Session

__all__ = [
    "SAFE_MODES",
    "BackgroundRunner",
    "BlockingTaskWarning",
    "EventLoopRunningError",
    "check_blocking",
    "refuse_running_loop",
    "running",
]

#: Execution modes that keep an event loop shared with other code responsive.
SAFE_MODES = ("async", "thread", "process")


class EventLoopRunningError(RuntimeError):
    """``app.run()`` was called where an event loop already runs (Jupyter, an ASGI server)."""


class BlockingTaskWarning(UserWarning):
    """A task would run on the thread of an event loop the scheduler shares with other code."""


def refuse_running_loop(what: str = "app.run()") -> None:
    """Raise :class:`EventLoopRunningError` if this thread runs an event loop."""
    import asyncio  # app.run() needs it next anyway; ``import skylaunch`` does not

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise EventLoopRunningError(
        f"{what} starts an event loop of its own, and one is already running in this thread "
        "(Jupyter, an ASGI server, asyncio.run). Use `await app.serve()` there, "
        "`async with app.running():` in a web app's lifespan, or `app.start()` to run the "
        "scheduler in a background thread"
    )


def check_blocking(session: Session) -> list[str]:
    """Warn about the tasks that would block a shared event loop; returns their names.

    Those are the tasks run with ``execution="main"``: their body runs on the loop's thread,
    and no request is answered until it returns.
    """
    blocking = [
        task.name for task in session.tasks_in_order() if _runs_inline(session, task.execution)
    ]
    if blocking:
        names = ", ".join(repr(name) for name in blocking)
        warnings.warn(
            f"task(s) {names} run with execution='main' inside an event loop shared with other "
            "code: while one runs, nothing else on the loop (web requests) is served. Give them "
            f"execution='thread' or 'process' (safe modes: {', '.join(SAFE_MODES)}; an "
            "'async' coroutine must not block)",
            BlockingTaskWarning,
            stacklevel=3,
        )
    return blocking


def _runs_inline(session: Session, execution: str) -> bool:
    try:
        return session.executor(execution).runs_inline
    except Exception:  # an unknown mode fails at its first run, with its own message
        return False


@contextlib.asynccontextmanager
async def running(session: Session) -> AsyncIterator[None]:
    """Run the scheduler as a task of the running loop while the block runs (see module doc).

    The block is entered once the scheduler has started (its start-up hooks and the history
    restore done); leaving it shuts the scheduler down and waits until every run has ended.
    A scheduler that fails to start, or crashes meanwhile, raises from here.
    """
    import asyncio

    scheduler = session.scheduler
    if scheduler.is_running:
        raise RuntimeError("the scheduler is already running (app.start(), app.run()...)")
    check_blocking(session)
    task = asyncio.ensure_future(session.serve())
    # Entered once the scheduler loop has passed its start-up (or has already ended).
    while not task.done() and not (scheduler.is_running and scheduler.cycles > 0):
        await asyncio.sleep(0.001)  # noqa: TID251 - real-loop polling of the start-up
    if task.done():
        task.result()  # raises what stopped it
        raise RuntimeError("the scheduler stopped before it was used (shut_cond true?)")
    try:
        yield
    finally:
        if not task.done():
            session.shut_down()
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            # The server cancelled its lifespan (a second Ctrl-C): end the runs now, and wait
            # for the scheduler to have logged them before giving up the loop.
            session.shut_down(force=True)
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise


class BackgroundRunner:
    """The scheduler of one session in a daemon thread with an event loop of its own."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self._started = threading.Event()

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, startup_timeout: float = 30.0) -> None:
        """Start the thread; return once the scheduler has made its first pass."""
        if self.alive:
            raise RuntimeError("the scheduler already runs in the background: stop() it first")
        if self.session.scheduler.is_running:
            raise RuntimeError("the scheduler is already running (app.run() or app.serve())")
        self.error = None
        self._started.clear()
        self.thread = threading.Thread(target=self._main, name="skylaunch-scheduler", daemon=True)
        self.thread.start()
        _RUNNERS.add(self)
        self._started.wait(startup_timeout)
        error = self.error
        if error is not None:  # it stopped before its first pass: say why, here
            self.thread.join(startup_timeout)
            self.error = None
            _RUNNERS.discard(self)
            raise error

    def _main(self) -> None:
        try:
            import asyncio

            asyncio.run(self._serve())
        except BaseException as exc:
            self.error = exc
        finally:
            self._started.set()

    async def _serve(self) -> None:
        import asyncio

        scheduler = self.session.scheduler

        async def ready() -> None:
            while not (scheduler.is_running and scheduler.cycles > 0):
                await asyncio.sleep(0.001)  # noqa: TID251 - real-loop polling of the start-up
            self._started.set()

        watcher = asyncio.ensure_future(ready())
        try:
            await self.session.serve()
        finally:
            watcher.cancel()

    def stop(self, timeout: float | None = None) -> bool:
        """Shut down; after ``timeout`` seconds, terminate the runs still going.

        Returns whether the thread has ended. Raises what made the scheduler crash.
        """
        thread = self.thread
        if thread is None:
            return True
        if thread.is_alive():
            self.session.shut_down(force=False)
            thread.join(timeout)
            if thread.is_alive():
                self.session.shut_down(force=True)
                thread.join(10.0)
        _RUNNERS.discard(self)
        error, self.error = self.error, None
        if error is not None and not isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise error
        return not thread.is_alive()


_RUNNERS: weakref.WeakSet[BackgroundRunner] = weakref.WeakSet()


@atexit.register
def _stop_at_exit() -> None:
    """Interpreter exit: let background schedulers end their runs (logged) first."""
    for runner in list(_RUNNERS):
        with contextlib.suppress(BaseException):
            runner.stop(timeout=5.0)
