"""Backends for the repo contract: each fixture builds a fresh, empty repo for one model."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from skylaunch.log import CSVFileRepo, MemoryRepo
from skylaunch.log.repos.base import BaseRepo

RepoFactory = Callable[[type[BaseModel]], BaseRepo[Any]]


def unique_table() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Any]:
    import sqlalchemy as sa

    from skylaunch.log.repos.sql import normalize_url

    engine = sa.create_engine(normalize_url(pg_url), pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(params=["memory", "csv", "sqlite", "postgres"])
def make_repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RepoFactory]:
    """A factory ``model -> empty repo`` on the parametrized backend; tables dropped after."""
    cleanup: list[Callable[[], None]] = []
    backend = request.param

    if backend == "memory":

        def factory(model: type[BaseModel]) -> BaseRepo[Any]:
            return MemoryRepo(model)

    elif backend == "csv":

        def factory(model: type[BaseModel]) -> BaseRepo[Any]:
            return CSVFileRepo(tmp_path / f"{uuid.uuid4().hex}.csv", model=model)

    else:
        import sqlalchemy as sa

        from skylaunch.log.repos.sql import SQLRepo

        if backend == "sqlite":
            engine = sa.create_engine(f"sqlite:///{tmp_path / 'log.db'}")
            cleanup.append(engine.dispose)  # after the tables are dropped (appended first)
        else:
            engine = request.getfixturevalue("pg_engine")

        def factory(model: type[BaseModel]) -> BaseRepo[Any]:
            repo = SQLRepo(model, engine=engine, table=unique_table(), if_missing="create")
            cleanup.append(lambda: repo.table.drop(engine, checkfirst=True))
            return repo

    yield factory
    for step in reversed(cleanup):
        step()
