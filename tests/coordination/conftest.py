"""The coordination tests run sessions in threads: their repo handlers are detached after."""

from __future__ import annotations

from tests.integration.conftest import _detach_session_handlers

__all__ = ["_detach_session_handlers"]
