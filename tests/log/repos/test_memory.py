"""MemoryRepo specifics: the per-task index, the per-task bound, dict items, threads."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel

from skylaunch.exc import RepoSchemaError
from skylaunch.log import MemoryRepo, MinimalRecord, Query, TaskRunRecord, greater_equal, in_
from skylaunch.log._lifecycle import lifecycle_fields
from skylaunch.log.repos.memory import _Bucket


def add(repo: MemoryRepo, task: str, action: str, created: float) -> None:
    repo.add({"task_name": task, "action": action, "created": created})


def test_index_groups_by_task_and_action() -> None:
    repo = MemoryRepo(MinimalRecord)
    for i in range(10):
        add(repo, f"t{i % 2}", "run" if i % 3 else "success", float(i))
    assert set(repo._tasks) == {"t0", "t1"}
    assert set(repo._tasks["t0"]) == {"run", "success"}
    assert [i.created for i in repo.filter_by(task_name="t0", action="success").all()] == [0, 6]
    # The bucket lookup answers; a full scan would see other tasks' items too.
    assert repo._buckets(repo.parse_query({"task_name": "t1", "action": "run"})) == [
        repo._tasks["t1"]["run"]
    ]
    assert repo.filter_by(task_name=in_(["t0", "t1"]), action="success").count() == 4


def test_bucket_keeps_created_then_insertion_order() -> None:
    bucket = _Bucket()
    for seq, created in enumerate([5.0, 3.0, 5.0, 4.0, 3.0]):
        bucket.place(created, seq, seq)
    assert bucket.items == [1, 4, 3, 0, 2]
    assert list(bucket.created) == sorted(bucket.created)


def test_max_per_task_drops_the_oldest_of_that_task_only() -> None:
    repo = MemoryRepo(MinimalRecord, max_per_task=3)
    add(repo, "other", "run", 0.5)
    for i, action in enumerate(["run", "success", "run", "fail", "run"]):
        add(repo, "x", action, float(i))
    assert [(i.action, i.created) for i in repo.filter_by(task_name="x").all()] == [
        ("run", 2.0),
        ("fail", 3.0),
        ("run", 4.0),
    ]
    assert repo.filter_by(task_name="other").count() == 1
    assert "success" not in repo._tasks["x"]  # emptied buckets go away
    assert repo._task_sizes["x"] == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_max_per_task_must_be_positive_int(bad: object) -> None:
    with pytest.raises(ValueError, match="max_per_task"):
        MemoryRepo(max_per_task=bad)  # type: ignore[arg-type]


def test_dict_items_without_model() -> None:
    repo = MemoryRepo()
    repo.add({"task_name": "x", "action": "run", "created": 1.0, "anything": [1]})
    repo.add(MinimalRecord(task_name="x", action="success", created=2.0))
    assert repo.filter_by(anything=[1]).all() == [
        {"task_name": "x", "action": "run", "created": 1.0, "anything": [1]}
    ]
    assert repo.filter_by(task_name="x").last() == {
        "task_name": "x",
        "action": "success",
        "created": 2.0,
    }
    assert MemoryRepo(dict).model is None  # Red Bird's spelling


def test_items_without_created_keep_insertion_order() -> None:
    repo = MemoryRepo()
    for name in "abc":
        repo.add({"name": name})
    assert [i["name"] for i in repo.filter_by().all()] == ["a", "b", "c"]
    assert repo.filter_by(name="b").first() == {"name": "b"}
    with pytest.raises(TypeError, match="created must be"):
        repo.add({"created": "yesterday"})


def test_bad_model_and_bad_items() -> None:
    with pytest.raises(RepoSchemaError, match="pydantic BaseModel"):
        MemoryRepo(model=int)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a mapping"):
        MemoryRepo().add(["not", "a", "mapping"])
    with pytest.raises(TypeError, match="MinimalRecord"):
        MemoryRepo(MinimalRecord).add(42)


def test_get_by_needs_id_field() -> None:
    repo = MemoryRepo(MinimalRecord, id_field="created")
    add(repo, "x", "run", 7.0)
    assert repo.get_by(7.0).task_name == "x"
    with pytest.raises(TypeError, match="no id_field"):
        MemoryRepo().get_by(1)


def test_concurrent_adds_lose_nothing() -> None:
    repo = MemoryRepo(MinimalRecord)

    def work(task: str) -> None:
        for i in range(500):
            add(repo, task, "run", float(i))

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert repo.filter_by().count() == 2000
    assert repo.filter_by(created=greater_equal(499.0)).count() == 4


def test_incomparable_operator_value_names_the_problem() -> None:
    repo = MemoryRepo(MinimalRecord)
    add(repo, "x", "run", 1.0)
    with pytest.raises(
        TypeError, match=r"greater_equal\(3\) cannot compare with the field value 'x'"
    ):
        repo.filter_by(task_name=greater_equal(3)).all()
    with pytest.raises(TypeError, match="greater_equal"):
        repo.filter_by(task_name=greater_equal(3)).count()


def test_max_per_task_drops_in_batches_and_keeps_the_newest() -> None:
    repo = MemoryRepo(MinimalRecord, max_per_task=64)
    for i in range(1000):
        add(repo, "x", "run" if i % 2 else "success", float(i))
        assert repo._task_sizes["x"] <= 64 + 64 // 16
    kept = [i.created for i in repo.filter_by(task_name="x").all()]
    assert kept == [float(i) for i in range(1000 - len(kept), 1000)]
    assert 64 <= len(kept) <= 68


def test_trusted_dicts_become_models_on_read_only() -> None:
    repo = MemoryRepo(MinimalRecord)
    assert repo.takes_trusted
    fields = {"task_name": "x", "action": "run", "created": 1.0, "run_id": "r", "message": "m"}
    repo.add_trusted(fields)
    assert repo._tasks["x"]["run"].items == [fields]
    (item,) = repo.filter_by(task_name="x").all()
    assert isinstance(item, MinimalRecord)
    assert (item.task_name, item.action, item.created) == ("x", "run", 1.0)
    assert list(repo.query_values(Query(), ("created", "run_id"), order="created", limit=None)) == [
        (1.0, "r")
    ]
    assert repo.filter_by(task_name="x").update(action="crash") == 1
    (changed,) = repo.filter_by(action="crash").all()
    assert isinstance(changed, MinimalRecord)


def test_models_with_other_required_fields_do_not_take_trusted_writes() -> None:
    class WithHost(MinimalRecord):
        host: str

    class DatetimeCreated(BaseModel):
        task_name: str
        action: str
        created: datetime

    assert not MemoryRepo(WithHost).takes_trusted
    assert not MemoryRepo(DatetimeCreated).takes_trusted
    assert MemoryRepo().takes_trusted  # dicts


def test_max_per_task_drops_the_oldest_across_uneven_buckets_with_ties() -> None:
    repo = MemoryRepo(MinimalRecord, max_per_task=16)
    added: list[tuple[float, int, str]] = []
    for i in range(200):
        action = ("run", "success", "fail")[i % 7 % 3]  # buckets of uneven sizes
        created = float(i // 3)  # three records share each timestamp: ties by order added
        add(repo, "x", action, created)
        added.append((created, i, action))
    stored = repo.filter_by(task_name="x").all()
    newest = added[len(added) - len(stored) :]
    assert sorted((r.created, r.action) for r in stored) == sorted((c, a) for c, _, a in newest)
    assert 16 <= len(stored) <= 17


def _lifecycle_pairs(
    tz: ZoneInfo,
) -> list[tuple[str, str, float, datetime, str | None, str | None]]:
    start = datetime(2026, 10, 25, 3, 59, 59, 500_000, tzinfo=tz)  # across the DST change
    out = []
    for i in range(4):
        s = start + timedelta(seconds=i)
        out.append(("t", "run", s.timestamp(), s, f"r{i}", None))
        end_action = "fail" if i == 2 else "success"
        tb = "Traceback ...\nValueError: x" if i == 2 else None
        out.append(("t", end_action, s.timestamp() + 0.75, s, f"r{i}", tb))
    return out


def test_compact_lifecycle_records_read_back_as_their_fields() -> None:
    # The scheduler's records are kept as parts (run id, start, position) and built into the
    # fields dict when read: every read, update and delete must see what the dict path stored.
    tz = ZoneInfo("Europe/Helsinki")
    compact, full = MemoryRepo(TaskRunRecord), MemoryRepo(TaskRunRecord)
    for parts in _lifecycle_pairs(tz):
        compact.add_lifecycle((*parts, tz, None))
        full.add_trusted(lifecycle_fields(*parts, tz))
    assert type(compact._tasks["t"]["run"].items[0]) is str  # stored compact
    dump = [r.model_dump() for r in full.filter_by().all()]
    assert [r.model_dump() for r in compact.filter_by().all()] == dump
    assert compact.filter_by(action="fail").last().exc_text == "Traceback ...\nValueError: x"
    second = compact.filter_by(task_name="t").all()[1]
    assert (second.run_id, second.runtime) == ("r0", timedelta(seconds=0.75))
    assert compact.filter_by(run_id="r1").update(message="changed") == 2
    assert [r.message for r in compact.filter_by(run_id="r1").all()] == ["changed", "changed"]
    assert compact.filter_by(run_id="r3").delete() == 2
    assert compact.filter_by().count() == 6
    assert [r.run_id for r in compact.filter_by(action="run").all()] == ["r0", "r1", "r2"]


def test_compact_records_keep_the_window_and_fall_back_to_dicts_when_they_must() -> None:
    utc, helsinki = ZoneInfo("UTC"), ZoneInfo("Europe/Helsinki")
    repo = MemoryRepo(TaskRunRecord, max_per_task=16)
    start = datetime(2026, 1, 1, tzinfo=utc)
    for i in range(40):
        repo.add_lifecycle(("t", "run", start.timestamp() + i, start, f"r{i}", None, utc, None))
    assert [r.run_id for r in repo.filter_by().all()] == [f"r{i}" for i in range(24, 40)]
    # a run without an id, and a start in another zone (the session's zone changed): dicts
    repo.add_lifecycle(("t", "crash", start.timestamp() + 50, start, None, "gone", utc, None))
    other = start.astimezone(helsinki)
    repo.add_lifecycle(("t", "run", start.timestamp() + 51, other, "z", None, helsinki, None))
    stored = repo._tasks["t"]
    assert type(stored["crash"].items[-1]) is dict
    assert type(stored["run"].items[-1]) is dict
    assert repo.filter_by(run_id="z").last().start == other
    assert repo.filter_by(action="crash").last().run_id is None


def test_the_window_drops_the_oldest_records_by_time_then_insertion_at_equal_times() -> None:
    # Records at one instant across the window's edge: the first stored of them go first.
    # Out-of-order and tied instants over several buckets take the exact path; distinct
    # instants the quick one (by time alone); both keep the newest max_per_task.
    utc = ZoneInfo("UTC")
    start = datetime(2026, 1, 1, tzinfo=utc)
    rnd = random.Random(7)
    for spread in (5, 10_000):
        repo = MemoryRepo(TaskRunRecord, max_per_task=32)
        live: list[tuple[float, int]] = []
        for i in range(500):
            created = start.timestamp() + rnd.randrange(spread)
            action = rnd.choice(["run", "success", "fail"])
            repo.add_lifecycle(("t", action, created, start, f"r{i}", None, utc, None))
            live.append((created, i))
            if len(live) > 34:  # max_per_task + max_per_task // 16: down to 32 at once
                live = sorted(live)[-32:]
            got = sorted(r.run_id for r in repo.filter_by().all())
            assert got == sorted(f"r{i}" for _, i in live)
        assert 32 <= len(repo.filter_by().all()) <= 34


def test_a_window_of_one_keeps_the_newest_by_time_then_insertion() -> None:
    # A run and its end at one instant (an inline run on a simulated clock): the end stays.
    # A record older than the one kept (the clock set back) is itself the oldest: it goes.
    utc = ZoneInfo("UTC")
    start = datetime(2026, 1, 1, tzinfo=utc)
    t0 = start.timestamp()
    repo = MemoryRepo(TaskRunRecord, max_per_task=1)
    repo.add_lifecycle(("t", "run", t0, start, "r1", None, utc, t0))
    repo.add_lifecycle(("t", "success", t0, start, "r1", None, utc, t0))
    assert [(r.action, r.run_id) for r in repo.filter_by().all()] == [("success", "r1")]
    repo.add_lifecycle(("t", "run", t0 - 5, start, "r0", None, utc, None))
    assert [(r.action, r.run_id) for r in repo.filter_by().all()] == [("success", "r1")]
    repo.add_lifecycle(("t", "run", t0 + 1, start, "r2", None, utc, None))
    assert [(r.action, r.run_id) for r in repo.filter_by(created=t0 + 1).all()] == [("run", "r2")]
    assert len(repo.filter_by(task_name="t").all()) == 1


def test_a_subclass_that_shadows_max_per_task_with_a_class_attribute_still_stores() -> None:
    """``max_per_task`` became a property; a subclass naming it as a plain class attribute hid
    the setter, so the trim bound was never set and the first record raised AttributeError."""

    class Shadowing(MemoryRepo):
        max_per_task = 3  # type: ignore[assignment]

    utc = ZoneInfo("UTC")
    start = datetime(2026, 1, 1, tzinfo=utc)
    repo = Shadowing(TaskRunRecord, max_per_task=2)
    for i in range(40):  # the scheduler's compact path, which reads the trim bound
        repo.add_lifecycle(("t", "run", start.timestamp() + i, start, f"r{i}", None, utc, None))
    kept = [r.run_id for r in repo.filter_by(task_name="t").all()]
    assert kept == ["r38", "r39"]  # the argument's window, as before the property


def test_a_bucket_keeps_no_start_column_until_a_record_started_before_its_created() -> None:
    # Run records start at their own instant: no column. The first that started earlier (in
    # order, out of order, or as a dict item then a compact one) makes it from `created`;
    # every read, update and delete sees each record's own start either way.
    utc = ZoneInfo("UTC")
    t0 = datetime(2026, 1, 1, tzinfo=utc).timestamp()

    def at(ts: float) -> datetime:
        return datetime.fromtimestamp(ts, utc)

    repo = MemoryRepo(TaskRunRecord)
    repo.add_lifecycle(("t", "run", t0, None, "r0", None, utc, t0))  # start given as a float
    repo.add_lifecycle(("t", "run", t0 + 2, at(t0 + 2), "r2", None, utc, None))
    repo.add({"task_name": "t", "action": "run", "created": t0 + 3, "run_id": "d", "message": "m"})
    bucket = repo._tasks["t"]["run"]
    assert bucket.starts is None
    repo.add_lifecycle(("t", "run", t0 + 1, at(t0 - 9), "r1", None, utc, None))  # out of order
    assert bucket.starts is not None
    repo.add_lifecycle(("t", "run", t0 + 4, None, "r4", None, utc, t0 + 3.5))
    got = [(r.run_id, r.start) for r in repo.filter_by(action="run").all()]
    assert got == [
        ("r0", at(t0)),
        ("r1", at(t0 - 9)),
        ("r2", at(t0 + 2)),
        ("d", None),
        ("r4", at(t0 + 3.5)),
    ]
    assert repo.filter_by(run_id="r1").update(message="m") == 1
    assert repo.filter_by(run_id="r2").delete() == 1
    assert [r.start for r in repo.filter_by(action="run").all() if r.run_id != "d"] == [
        at(t0),
        at(t0 - 9),
        at(t0 + 3.5),
    ]
    plain = MemoryRepo(TaskRunRecord, max_per_task=2)
    for i in range(6):
        plain.add_lifecycle(("t", "run", t0 + i, None, f"p{i}", None, utc, t0 + i))
    assert plain._tasks["t"]["run"].starts is None  # dropped and kept without the column
    assert [(r.run_id, r.start) for r in plain.filter_by().all()] == [
        ("p4", at(t0 + 4)),
        ("p5", at(t0 + 5)),
    ]
    ended = MemoryRepo(TaskRunRecord)
    ended.add_lifecycle(("t", "success", t0 + 1, None, "e", None, utc, t0))
    assert ended.filter_by().last().runtime == timedelta(seconds=1)
    assert ended.filter_by().last().start == at(t0)
