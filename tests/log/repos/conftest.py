"""Backends for the repo contract: each fixture builds a fresh, empty repo for one model."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from skylaunch.log import CSVFileRepo, MemoryRepo
from skylaunch.log.repos.base import BaseRepo, field_getter
from skylaunch.log.repos.foreign import ForeignRepo
from tests.conftest import drop_redis_keys

RepoFactory = Callable[[type[BaseModel]], BaseRepo[Any]]


class DuckRepo:
    """A Red Bird-style repo of someone else's: ``add``, and ``filter_by`` with equality,
    whose result has ``all``, ``update`` and ``delete``. It keeps items in a list, as given."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def add(self, item: Any) -> None:
        self.items.append(item)

    def filter_by(self, **query: Any) -> DuckResult:
        return DuckResult(self, query)


class DuckResult:
    def __init__(self, repo: DuckRepo, query: dict[str, Any]) -> None:
        self.repo = repo
        self.query = query

    def _matching(self) -> list[Any]:
        return [
            item
            for item in self.repo.items
            if all(field_getter(item)(k) == v for k, v in self.query.items())
        ]

    def all(self) -> list[Any]:
        return self._matching()

    def update(self, **values: Any) -> None:
        for item in self._matching():
            for key, value in values.items():
                if isinstance(item, dict):
                    item[key] = value
                else:
                    setattr(item, key, value)

    def delete(self) -> None:
        doomed = {id(item) for item in self._matching()}
        self.repo.items = [item for item in self.repo.items if id(item) not in doomed]


def unique_table() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Any]:
    import sqlalchemy as sa

    from skylaunch.log.repos.sql import normalize_url

    engine = sa.create_engine(normalize_url(pg_url), pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(params=["memory", "csv", "sqlite", "postgres", "foreign", "redis"])
def make_repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RepoFactory]:
    """A factory ``model -> empty repo`` on the parametrized backend; tables dropped after."""
    cleanup: list[Callable[[], None]] = []
    backend = request.param

    if backend == "memory":

        def factory(model: type[BaseModel]) -> BaseRepo[Any]:
            return MemoryRepo(model)

    elif backend == "foreign":

        def factory(model: type[BaseModel]) -> BaseRepo[Any]:
            return ForeignRepo(DuckRepo(), model)

    elif backend == "redis":
        from skylaunch.log.repos.redis import RedisRepo

        url = request.getfixturevalue("redis_url")

        def factory(model: type[BaseModel]) -> BaseRepo[Any]:
            prefix = f"sltest:{uuid.uuid4().hex[:12]}"
            repo = RedisRepo(url, model, key_prefix=prefix)
            cleanup.append(repo.close)
            cleanup.append(lambda: drop_redis_keys(url, prefix))
            return repo

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
