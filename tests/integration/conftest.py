"""Integration tests detach the repo handlers their sessions put on the shared task logger."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _detach_session_handlers() -> Iterator[None]:
    logger = logging.getLogger("skylaunch.task")
    before = set(logger.handlers)
    yield
    for handler in set(logger.handlers) - before:
        logger.removeHandler(handler)
        handler.close()
