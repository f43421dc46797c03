"""The coordination tests run sessions in threads: their repo handlers are detached after.

``url``: the server of a test that runs on both coordination backends, PostgreSQL and Redis.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import _detach_session_handlers

__all__ = ["_detach_session_handlers", "url"]


@pytest.fixture(params=["postgres", "redis"])
def url(request: pytest.FixtureRequest) -> str:
    """The repo's server: the test runs once on PostgreSQL and once on Redis."""
    if request.param == "redis":
        request.applymarker(pytest.mark.redis)
        return str(request.getfixturevalue("redis_url"))
    request.applymarker(pytest.mark.pg)
    return str(request.getfixturevalue("pg_url"))
