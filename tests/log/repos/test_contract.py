"""One contract, every backend: memory, CSV, SQLite and PostgreSQL must answer alike."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel

from skylaunch.exc import RepoSchemaError
from skylaunch.log import (
    MinimalRecord,
    TaskRunRecord,
    between,
    equal,
    greater_equal,
    greater_than,
    in_,
    less_equal,
    less_than,
    not_equal,
    skip,
)
from skylaunch.log._restore import restore_query
from skylaunch.log.repos.base import BaseRepo

from .conftest import RepoFactory

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


class Extended(TaskRunRecord):
    """Users subclass the record models to add fields."""

    host: str | None = None
    attempt: int = 0


def rec(task: str, action: str, created: float, **extra: Any) -> dict[str, Any]:
    return {"task_name": task, "action": action, "created": created, "message": "m", **extra}


def fill(repo: BaseRepo[Any]) -> None:
    repo.add(rec("a", "run", 10.0, run_id="1", start=T0))
    repo.add(
        rec(
            "a",
            "success",
            12.5,
            run_id="1",
            start=T0,
            end=T0 + timedelta(seconds=2.5),
            runtime=timedelta(seconds=2.5),
        )
    )
    repo.add(rec("b", "run", 11.0, run_id="2"))
    repo.add(rec("b", "fail", 12.5, run_id="2", exc_text="Traceback ...\nValueError: x"))
    repo.add(rec("a", "run", 20.0, run_id=None))


def names(items: list[Any]) -> list[tuple[str, str, float]]:
    return [(i.task_name, i.action, i.created) for i in items]


def _lifecycle(n: int) -> list[dict[str, Any]]:
    """The fields of a scheduler's lifecycle records (what a trusted write hands over)."""
    out = []
    for i in range(n):
        start = T0 + timedelta(seconds=i)
        out.append(rec("t", "run", start.timestamp(), run_id=f"r{i}", start=start))
        out.append(
            rec(
                "t",
                "fail" if i % 3 == 0 else "success",
                start.timestamp() + 0.25,
                run_id=f"r{i}",
                start=start,
                end=start + timedelta(seconds=0.25),
                runtime=timedelta(seconds=0.25),
                exc_text="Traceback ...\nValueError: x" if i % 3 == 0 else None,
            )
        )
    return out


class TestRepoContract:
    def test_a_batch_stores_what_single_writes_store(self, make_repo: RepoFactory) -> None:
        # SQL backends insert a batch through the driver (COPY on PostgreSQL), past the
        # per-row statement path that single writes take: both must read back the same.
        fields = _lifecycle(5)
        one, many = make_repo(TaskRunRecord), make_repo(TaskRunRecord)
        for item in fields:
            one.add(item)
        many.insert(fields)
        read_one = [r.model_dump() for r in one.filter_by().all()]
        read_many = [r.model_dump() for r in many.filter_by().all()]
        assert read_many == read_one
        assert read_one == [TaskRunRecord.model_validate(f).model_dump() for f in fields]

    def test_a_batch_larger_than_a_chunk_keeps_every_record_in_order(
        self, make_repo: RepoFactory
    ) -> None:
        # SQL backends write a batch in chunks of 250 rows within one transaction.
        fields = _lifecycle(301)  # 602 records: three chunks, the last one short
        repo = make_repo(TaskRunRecord)
        repo.insert(fields)
        stored = repo.filter_by().all()
        assert [(r.created, r.run_id, r.action) for r in stored] == [
            (f["created"], f["run_id"], f["action"]) for f in fields
        ]

    def test_trusted_field_dicts_store_what_validated_items_store(
        self, make_repo: RepoFactory
    ) -> None:
        fields = _lifecycle(4)
        repo = make_repo(TaskRunRecord)
        if not repo.takes_trusted:
            pytest.skip("this backend takes validated items only")
        repo.insert_items([dict(f) for f in fields])
        stored = [r.model_dump() for r in repo.filter_by().all()]
        assert stored == [TaskRunRecord.model_validate(f).model_dump() for f in fields]

    def test_empty_repo(self, make_repo: RepoFactory) -> None:
        repo = make_repo(TaskRunRecord)
        assert repo.filter_by().all() == []
        assert repo.filter_by(task_name="a").first() is None
        assert repo.filter_by(task_name="a").last() is None
        assert repo.filter_by().count() == 0
        assert len(repo) == 0

    def test_all_in_created_order(self, make_repo: RepoFactory) -> None:
        repo = make_repo(TaskRunRecord)
        fill(repo)
        assert names(repo.filter_by().all()) == [
            ("a", "run", 10.0),
            ("b", "run", 11.0),
            ("a", "success", 12.5),
            ("b", "fail", 12.5),
            ("a", "run", 20.0),
        ]
        assert names(list(repo)) == names(repo.filter_by().all())

    def test_ties_in_created_keep_insertion_order(self, make_repo: RepoFactory) -> None:
        repo = make_repo(MinimalRecord)
        for action in ("run", "success", "run", "fail"):
            repo.add({"task_name": "x", "action": action, "created": 5.0})
        assert [i.action for i in repo.filter_by().all()] == ["run", "success", "run", "fail"]
        assert repo.filter_by().first().action == "run"
        assert repo.filter_by().last().action == "fail"
        assert [i.action for i in restore_query(repo, "x", limit=4)] == [
            "fail",
            "run",
            "success",
            "run",
        ]

    def test_out_of_order_inserts_are_sorted(self, make_repo: RepoFactory) -> None:
        repo = make_repo(MinimalRecord)
        for created in (3.0, 1.0, 2.0):
            repo.add({"task_name": "x", "action": "run", "created": created})
        assert [i.created for i in repo.filter_by(task_name="x").all()] == [1.0, 2.0, 3.0]
        assert repo.filter_by(task_name="x").last().created == 3.0

    def test_filter_by_equality(self, make_repo: RepoFactory) -> None:
        repo = make_repo(TaskRunRecord)
        fill(repo)
        assert names(repo.filter_by(task_name="a", action="run").all()) == [
            ("a", "run", 10.0),
            ("a", "run", 20.0),
        ]
        assert names(repo.filter_by(run_id="2").all()) == [("b", "run", 11.0), ("b", "fail", 12.5)]
        assert repo.filter_by(task_name="missing").all() == []

    def test_first_last_limit_count(self, make_repo: RepoFactory) -> None:
        repo = make_repo(TaskRunRecord)
        fill(repo)
        result = repo.filter_by(task_name="a")
        assert (result.first().action, result.first().created) == ("run", 10.0)
        assert (result.last().action, result.last().created) == ("run", 20.0)
        assert names(result.limit(2)) == [("a", "run", 10.0), ("a", "success", 12.5)]
        assert result.limit(0) == []
        assert names(result.newest(2)) == [("a", "run", 20.0), ("a", "success", 12.5)]
        assert result.count() == 3
        assert repo.filter_by(action="run").count() == 3
        assert repo.filter_by(action=in_(["fail", "success"])).count() == 2
        assert repo.filter_by(created=greater_than(11.0)).count() == 3

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"created": greater_than(11.0)}, [12.5, 12.5, 20.0]),
            ({"created": greater_equal(11.0)}, [11.0, 12.5, 12.5, 20.0]),
            ({"created": less_than(12.5)}, [10.0, 11.0]),
            ({"created": less_equal(12.5)}, [10.0, 11.0, 12.5, 12.5]),
            ({"created": equal(12.5)}, [12.5, 12.5]),
            ({"created": between(11.0, 12.5)}, [11.0, 12.5, 12.5]),
            ({"created": between(None, 11.0, none_as_open=True)}, [10.0, 11.0]),
            ({"created": between(12.5, None, none_as_open=True)}, [12.5, 12.5, 20.0]),
            ({"created": between(None, None, none_as_open=True)}, [10.0, 11.0, 12.5, 12.5, 20.0]),
            ({"created": skip}, [10.0, 11.0, 12.5, 12.5, 20.0]),
            ({"action": not_equal("run")}, [12.5, 12.5]),
            ({"action": in_(["fail"])}, [12.5]),
            ({"action": in_([])}, []),
            ({"task_name": in_(["a", "b"]), "action": "run"}, [10.0, 11.0, 20.0]),
            ({"created": greater_than(10.0), "created_": None}, None),
        ],
    )
    def test_operators(
        self, make_repo: RepoFactory, query: dict[str, Any], expected: list[float] | None
    ) -> None:
        repo = make_repo(TaskRunRecord)
        fill(repo)
        if expected is None:
            with pytest.raises(RepoSchemaError, match="'created_'"):
                repo.filter_by(**query)
            return
        assert [i.created for i in repo.filter_by(**query).all()] == expected
        assert repo.filter_by(**query).count() == len(expected)

    def test_none_semantics(self, make_repo: RepoFactory) -> None:
        repo = make_repo(TaskRunRecord)
        fill(repo)
        assert [i.created for i in repo.filter_by(run_id=None).all()] == [20.0]
        assert [i.created for i in repo.filter_by(run_id=not_equal("1")).all()] == [
            11.0,
            12.5,
            20.0,
        ]
        assert [i.created for i in repo.filter_by(run_id=in_(["1", None])).all()] == [
            10.0,
            12.5,
            20.0,
        ]
        # Ordering operators never match a missing value.
        assert [i.created for i in repo.filter_by(start=less_than(T0 + timedelta(1))).all()] == [
            10.0,
            12.5,
        ]
        assert repo.filter_by(end=greater_than(T0)).count() == 1

    def test_datetime_and_timedelta_operators(self, make_repo: RepoFactory) -> None:
        repo = make_repo(TaskRunRecord)
        fill(repo)
        assert repo.filter_by(end=equal(T0 + timedelta(seconds=2.5))).count() == 1
        assert repo.filter_by(runtime=greater_than(timedelta(seconds=2))).count() == 1
        assert repo.filter_by(runtime=less_than(timedelta(seconds=2))).count() == 0
        helsinki = timezone(timedelta(hours=2))
        same_instant = (T0 + timedelta(seconds=2.5)).astimezone(helsinki)
        assert repo.filter_by(end=between(same_instant, same_instant)).count() == 1

    def test_round_trip_types(self, make_repo: RepoFactory) -> None:
        repo = make_repo(TaskRunRecord)
        fill(repo)
        success = repo.filter_by(action="success").first()
        assert isinstance(success, TaskRunRecord)
        assert success.created == 12.5
        assert success.start == T0
        assert success.start.utcoffset() is not None
        assert success.end == T0 + timedelta(seconds=2.5)
        assert success.runtime == timedelta(seconds=2.5)
        assert success.run_id == "1"
        assert success.exc_text is None
        fail = repo.filter_by(action="fail").first()
        assert fail.exc_text == "Traceback ...\nValueError: x"
        assert fail.start is None
        assert fail.runtime is None
        assert repo.filter_by(created=20.0).first().run_id is None

    def test_created_float_precision(self, make_repo: RepoFactory) -> None:
        repo = make_repo(MinimalRecord)
        created = 1709294400.123456
        repo.add({"task_name": "x", "action": "run", "created": created})
        assert repo.filter_by(created=created).first().created == created

    def test_subclassed_model_round_trip(self, make_repo: RepoFactory) -> None:
        repo = make_repo(Extended)
        repo.add(rec("a", "run", 1.0, host="web-1", attempt=2, unknown_attr="ignored"))
        item = repo.filter_by(host="web-1").first()
        assert isinstance(item, Extended)
        assert (item.host, item.attempt) == ("web-1", 2)
        assert repo.filter_by(attempt=greater_equal(2)).count() == 1

    def test_add_model_instance_and_insert_batch(self, make_repo: RepoFactory) -> None:
        repo = make_repo(MinimalRecord)
        repo.add(MinimalRecord(task_name="x", action="run", created=1.0))
        repo.insert(
            [
                {"task_name": "x", "action": "success", "created": 2.0},
                MinimalRecord(task_name="y", action="run", created=3.0),
            ]
        )
        repo.insert([])
        assert [(i.task_name, i.action) for i in repo.filter_by().all()] == [
            ("x", "run"),
            ("x", "success"),
            ("y", "run"),
        ]

    def test_invalid_item_is_refused(self, make_repo: RepoFactory) -> None:
        repo = make_repo(MinimalRecord)
        with pytest.raises(ValueError, match="action"):
            repo.add({"task_name": "x", "action": "exploded", "created": 1.0})
        assert repo.filter_by().count() == 0

    def test_update(self, make_repo: RepoFactory) -> None:
        repo = make_repo(TaskRunRecord)
        fill(repo)
        assert repo.filter_by(task_name="b").update(message="changed", run_id="9") == 2
        assert [(i.message, i.run_id) for i in repo.filter_by(task_name="b").all()] == [
            ("changed", "9"),
            ("changed", "9"),
        ]
        assert repo.filter_by(task_name="a", message="m").count() == 3
        # Updating an ordered/indexed field moves the item.
        assert repo.filter_by(task_name="a", created=10.0).update(created=30.0, action="crash") == 1
        assert repo.filter_by(task_name="a").last().action == "crash"
        assert repo.filter_by(action="crash").count() == 1
        assert repo.filter_by(task_name="nobody").update(message="x") == 0
        with pytest.raises(RepoSchemaError, match="'nope'"):
            repo.filter_by().update(nope=1)

    def test_delete(self, make_repo: RepoFactory) -> None:
        repo = make_repo(TaskRunRecord)
        fill(repo)
        assert repo.filter_by(task_name="a", action="run").delete() == 2
        assert names(repo.filter_by().all()) == [
            ("b", "run", 11.0),
            ("a", "success", 12.5),
            ("b", "fail", 12.5),
        ]
        assert repo.filter_by(task_name="a").count() == 1
        assert repo.filter_by().delete() == 3
        assert repo.filter_by().count() == 0
        repo.add(rec("a", "run", 1.0))
        assert repo.filter_by(task_name="a").last().created == 1.0

    def test_restore_query(self, make_repo: RepoFactory) -> None:
        repo = make_repo(TaskRunRecord)
        fill(repo)
        assert names(restore_query(repo, "a", limit=10)) == [
            ("a", "run", 20.0),
            ("a", "success", 12.5),
            ("a", "run", 10.0),
        ]
        assert names(restore_query(repo, "a", since=12.5, limit=10)) == [
            ("a", "run", 20.0),
            ("a", "success", 12.5),
        ]
        assert names(restore_query(repo, "a", limit=1)) == [("a", "run", 20.0)]
        assert restore_query(repo, "zzz", limit=5) == []

    def test_query_is_lazy_and_reads_afresh(self, make_repo: RepoFactory) -> None:
        repo = make_repo(MinimalRecord)
        result = repo.filter_by(task_name="x")
        repo.add({"task_name": "x", "action": "run", "created": 1.0})
        assert result.count() == 1
        assert [i.created for i in result.query()] == [1.0]
        repo.add({"task_name": "x", "action": "run", "created": 2.0})
        assert result.last().created == 2.0


def test_extended_fields_are_model_fields() -> None:
    # Guard for the contract above: the extra fields really are part of the model.
    assert {"host", "attempt"} <= set(Extended.model_fields)
    assert issubclass(Extended, BaseModel)
