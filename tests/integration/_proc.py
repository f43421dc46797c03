"""Starting the integration tests' scheduler scripts as real processes, and reading them."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment, with the import path the test runs under (so a child
    finds skylaunch and the test packages however pytest was started)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **extra}


def spawn(script: Path, *args: object) -> subprocess.Popen[str]:
    """``python script args...`` with piped, text-mode stdout and stderr."""
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )


def wait_for(
    proc: subprocess.Popen[str], text: str, timeout_s: float, stream: IO[str] | None = None
) -> str:
    """Read ``stream`` (stdout by default) line by line until one contains ``text``; that line.

    Bounded in time: past ``timeout_s``, or at the end of the stream, the process is killed and
    the test fails with what it printed.
    """
    stream = proc.stdout if stream is None else stream
    assert stream is not None
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(left):
                break
            line = stream.readline()
            if text in line:
                return line
            if not line:
                break
    proc.kill()
    raise AssertionError(f"no {text!r} within {timeout_s} s: {proc.communicate()}")


def wait_until_serving(
    proc: subprocess.Popen[str], get: Callable[[], int], timeout_s: float, close: Callable[[], None]
) -> None:
    """Poll ``get`` (an HTTP GET returning its status) until it answers 200; past
    ``timeout_s``, or once the server process ended, ``close`` it and fail with its output."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if get() == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            close()
            raise AssertionError(f"the server did not start: {proc.communicate()}")
        time.sleep(0.05)
