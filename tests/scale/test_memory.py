"""The in-memory pieces behind the fast pages: score tables, usage arrays, rollup decoding, and the score board's
failure paths."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from healthdash.board import ScoreBoard, past
from healthdash.board.usage import UsageArrays, mask_type
from healthdash.clock import utc_now
from healthdash.customer_list import ListQuery, list_records, select_customers
from healthdash.db.database import create_database
from healthdash.db.rollup import ROW, SIGNATURE, TRAILER, RollupFormatError, RollupRows, decode
from healthdash.score_table import SEARCHES_KEPT, ScoreTable
from healthdash.scoring import ScoringConfig
from healthdash.service import HealthService
from healthdash.summary import dashboard_summary, scored_only
from tests.conftest import add_customer, drop_database


@pytest.fixture(scope="module")
def table(sample_db_url: str) -> pd.DataFrame:
    return HealthService(create_engine(sample_db_url, poolclass=NullPool), ScoringConfig()).score_frame(utc_now())


def test_a_score_table_round_trips_and_updates_without_touching_the_original(table: pd.DataFrame) -> None:
    scores = ScoreTable.from_frame(table)
    pd.testing.assert_frame_equal(scores.frame(), table)
    assert scores.record(0)["id"] == int(table.index[0])
    changed = scores.take(np.array([0, 1]))
    changed.columns["score"] = changed.columns["score"] + 1
    changed.columns["tier"] = np.array(["critical", "healthy"], dtype=object)
    changed.stamp[:] = 1.0
    scores.tier_codes()
    recoded = scores.update(changed)
    assert recoded.tier_codes().tolist() == ScoreTable(recoded.ids, recoded.columns).tier_codes().tolist()
    updated = scores.update(changed, gone=[int(table.index[5])])
    assert len(updated) == len(scores) - 1 and scores.columns["score"][0] == table["score"].iloc[0]
    assert updated.update(ScoreTable.latest([changed.take(np.array([0]))])) is not updated
    older = changed.take(np.array([0]))
    older.stamp[:] = 0.5
    assert updated.update(older).columns["score"][0] == updated.columns["score"][0], "an older row does not win"
    assert updated.update(older.take(np.array([], dtype=int))) is updated
    empty = ScoreTable(np.array([], dtype=np.int64), {n: np.array([]) for n in scores.columns})
    assert empty.positions([1]).tolist() == [-1]


def test_pages_and_summary_work_from_frames_too(table: pd.DataFrame) -> None:
    page, total = select_customers(table, ListQuery(sort="name", limit=3, status="all"))
    assert total == len(table) and list_records(page)[0]["name"] == page["name"].iloc[0]
    scores = ScoreTable.from_frame(table)
    for i in range(SEARCHES_KEPT + 2):
        scores.search(f"zz{i}")
    assert len(scores.derived(("names", "searches"), dict)) == SEARCHES_KEPT
    assert len(scored_only(table)) <= len(table)
    nobody = scores.take(np.flatnonzero(scores.columns["tier"] == "insufficient_data"))
    summary = dashboard_summary(nobody, utc_now())
    assert summary["average_score"] is None and summary["top_at_risk"] == []


def test_usage_arrays_keep_what_overlaps_and_pick_narrow_types() -> None:
    assert mask_type(11) is np.uint16 and mask_type(20) is np.uint32 and mask_type(40) is np.int64
    day = dt.date(2026, 3, 1)
    activity = UsageArrays(np.array([2, 5]), day, 4)
    activity.api_calls[:, 1] = [1, 2, 3, 4]
    assert activity.nbytes > 0 and activity.positions(np.array([5, 7])).tolist() == [1, -1]
    moved = activity.moved_to(day + dt.timedelta(days=1))
    assert moved.api_calls[:, 1].tolist() == [2, 3, 4, 0]
    assert not activity.moved_to(day + dt.timedelta(days=9)).api_calls.any()
    assert UsageArrays(np.array([], dtype=np.int64), day, 4).positions(np.array([1])).tolist() == [-1]


def test_api_calls_beyond_32_bits_a_day_are_kept_exactly() -> None:
    day = dt.date(2026, 3, 1)
    activity = UsageArrays(np.array([2, 5]), day, 4)
    assert activity.api_calls.dtype == np.uint32, "four bytes a customer-day while the counts fit"
    huge = 6_000_000_000
    rows = RollupRows(
        customer_id=np.array([5, 5]),
        offset=np.array([2, 3]),
        logged_in=np.array([True, True]),
        api_calls=np.array([huge, 7]),
        feature_mask=np.array([0, 0]),
    )
    assert activity.fill(rows, activity.first_day) == 0
    usage = activity.columns(np.array([2, 5]), day, 2)
    assert usage["api_calls_0"].tolist() == [0, huge + 7]
    moved = activity.moved_to(day + dt.timedelta(days=1))
    assert moved.columns(np.array([5]), day + dt.timedelta(days=1), 3)["api_calls_0"].tolist() == [huge + 7]


def test_rollup_streams_that_are_not_whole_are_refused() -> None:
    header = SIGNATURE + b"\0\0\0\0\0\0\0\0"
    with pytest.raises(RollupFormatError, match="not a complete"):
        decode(b"garbage")
    with pytest.raises(RollupFormatError, match="whole rows"):
        decode(header + b"\0\0\0" + TRAILER)
    row = np.zeros(1, dtype=ROW)
    row["fields"] = 4
    with pytest.raises(RollupFormatError, match="number of fields"):
        decode(header + row.tobytes() + TRAILER)


@pytest.fixture
def doomed_url(admin_url: str, template_db: str) -> Iterator[str]:
    name = f"hd_doomed_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name, template=template_db)
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    drop_database(admin_url, name)


def test_the_board_survives_a_database_that_goes_away(
    doomed_url: str, admin_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    service = HealthService(create_engine(doomed_url, poolclass=NullPool), ScoringConfig())

    async def scenario() -> None:
        with ThreadPoolExecutor(2) as executor:
            board = ScoreBoard(service, executor, max_age=0.0, patch_interval=0.0)
            first = await board.current()
            for i in range(600):  # views are memoised, but not without end
                first.view(i, lambda: 0)
            assert len(first.views) <= 513
            drop_database(admin_url, make_url(doomed_url).database or "")
            board.mark_changed([3])
            assert await board.current() is first, "readers get what there is"
            await asyncio.sleep(0.3)
            assert board._rebuild is not None
            await asyncio.gather(board._rebuild, return_exceptions=True)
            with pytest.raises(OperationalError):
                await board.current()  # the rebuild failed: the next reader tries in the open
            with pytest.raises(OperationalError):
                await board.at(utc_now() - dt.timedelta(days=3))
            board.invalidate_all()
            with pytest.raises(OperationalError):
                await board.current()

    with caplog.at_level(logging.WARNING, logger="healthdash.board"):
        asyncio.run(scenario())
    assert "failed" in caplog.text


def test_rows_recorded_during_a_build_land_in_it(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    service = HealthService(create_engine(fresh_db_url, poolclass=NullPool), ScoringConfig())
    monkeypatch.setattr(past, "HISTORY_ROWS", 1)

    async def scenario() -> None:
        with ThreadPoolExecutor(2) as executor:
            board = ScoreBoard(service, executor)
            await board.current()
            compute = board.signals.score_all

            def slowly(*args: object) -> ScoreTable:
                table = compute(*args)  # type: ignore[arg-type]
                service.record_event(9, "login", utc_now() - dt.timedelta(days=3), {})
                return table

            board.signals.score_all = slowly  # type: ignore[method-assign,assignment]
            rebuilt = await board.rebuild()
            board.signals.score_all = compute  # type: ignore[method-assign]
            after = await board.current()
            assert after is not rebuilt
            pd.testing.assert_frame_equal(after.table, service.score_frame(after.as_of), check_like=True)
            for days in (5, 6):
                await board.at(utc_now() - dt.timedelta(days=days))
            assert len(board._history) == 1, "past tables beyond the budget are dropped"

    asyncio.run(scenario())
    board = ScoreBoard(service, ThreadPoolExecutor(1))
    board.mark_changed([1])  # outside an event loop: nothing to patch yet, nothing scheduled


def test_the_service_answers_for_customers_unknown_or_not_yet_there(fresh_db_url: str) -> None:
    service = HealthService(create_engine(fresh_db_url, poolclass=NullPool), ScoringConfig())
    assert service.record_event(999_999, "login", utc_now(), {}) is None
    assert service.customer_health(999_999, utc_now()) is None
    future = add_customer(service.engine, "Tomorrow Inc", "now() + interval '2 days'")
    outcome = service.record_event(future, "login", utc_now(), {})
    assert outcome is not None and outcome[1] == {"score": None, "tier": "insufficient_data"}
    health = service.customer_health(future, utc_now())
    assert health is not None and health["factors"] == [] and health["trend"]["delta"] is None


class _Deadlock(Exception):
    pgcode = "40P01"


def test_work_picked_to_break_a_deadlock_is_run_again() -> None:
    from healthdash.service import RETRIES, _retrying

    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if len(calls) < RETRIES:
            raise OperationalError("INSERT ...", {}, _Deadlock())
        return "stored"

    assert _retrying(work) == "stored" and len(calls) == RETRIES
    calls.clear()

    def always() -> str:
        calls.append(1)
        raise OperationalError("INSERT ...", {}, _Deadlock())

    with pytest.raises(OperationalError):
        _retrying(always)
    assert len(calls) == RETRIES
    with pytest.raises(OperationalError):
        _retrying(lambda: (_ for _ in ()).throw(OperationalError("SELECT 1", {}, ValueError())))


def test_objects_made_before_serving_are_spared_from_collection() -> None:
    import gc

    from healthdash.memory import freeze_long_lived_objects

    try:
        frozen = freeze_long_lived_objects()
        assert frozen == gc.get_freeze_count() > 10_000, "the imported modules' objects are frozen"
    finally:
        gc.unfreeze()


# Arrays of a score table's column size, each followed by a small block that outlives it, after a large array was
# freed (which raises glibc's threshold for mapping a block on its own): the resident memory freeing them gives back.
HANDED_BACK = """
import ctypes, sys
import numpy as np
from healthdash.memory import tune_malloc
if sys.argv[1] == "tuned":
    assert tune_malloc()
def resident_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
large = np.ones(8 * 2**20, dtype=np.uint8)
del large
before = resident_mb()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
arrays, kept = [], []
for _ in range(200):
    arrays.append(np.ones(2**20, dtype=np.uint8))
    kept.append(libc.malloc(1000))
del arrays
print(round(resident_mb() - before))
"""


@pytest.mark.parametrize("mode", ["tuned", "default"])
def test_large_arrays_freed_are_handed_back_to_the_system(mode: str) -> None:
    done = subprocess.run([sys.executable, "-c", HANDED_BACK, mode], capture_output=True, text=True, check=True)
    kept_mb = int(done.stdout)
    if mode == "tuned":
        assert kept_mb < 20, f"{kept_mb} MB of 200 MB of freed arrays stayed resident"
    else:  # what the tuning is for: glibc's own settings keep them
        assert kept_mb > 150


def test_an_update_shares_the_columns_it_does_not_change(table: pd.DataFrame) -> None:
    """A patch or a write's fresh rows copy only the columns whose values change (a score, not a profile): at 100,000
    customers every column copied is 0.4-0.8 MB more for as long as a reader holds the table before."""
    scores = ScoreTable.from_frame(table)
    rows = scores.take(np.array([2, 3]))
    rows.columns["score"] = np.array([1.5, np.nan])
    rows.columns["previous_score"] = rows.columns["previous_score"].copy()  # the same values in an array of its own
    rows.stamp[:] = 1.0
    updated = scores.update(rows)
    assert updated.columns["score"] is not scores.columns["score"]
    assert updated.columns["score"][2] == 1.5 and np.isnan(updated.columns["score"][3])
    assert scores.columns["score"][2] == table["score"].iloc[2], "the table before keeps its values"
    for name in ("name", "segment", "seats", "previous_score", "tier"):
        assert updated.columns[name] is scores.columns[name], name
    again = updated.update(ScoreTable.latest([updated.take(np.array([3]))]))  # a NaN written over itself
    assert all(again.columns[name] is updated.columns[name] for name in updated.columns)
    renamed = updated.take(np.array([2]))
    renamed.columns["name"] = np.array(["Zzzz Renamed"], dtype=object)
    renamed.stamp[:] = 2.0
    updated.name_rank()
    written = updated.update(renamed)
    assert written.columns["name"] is not updated.columns["name"] and written.columns["name"][2] == "Zzzz Renamed"
    assert updated.columns["name"][2] == table["name"].iloc[2]
    assert ("name_rank",) not in written._derived, "the names' order is made again after a rename"


# A batch of 10,000 events parsed and validated as the server does, counting the collections it sets off.
COLLECTIONS = """
import gc, sys
from benchmarks.run import batch_body
from healthdash.api import jsonio
from healthdash.api.batch import validated
from healthdash.memory import freeze_long_lived_objects, space_out_collections
freeze_long_lived_objects()
if sys.argv[1] == "spaced":
    assert space_out_collections() == (10_000, 10, 10)
body = batch_body(100_000, 10_000, 1)
runs = [0, 0, 0]
def count(phase, info):
    if phase == "start":
        runs[info["generation"]] += 1
gc.callbacks.append(count)
kept = [validated(jsonio.parse_body(body), False) for _ in range(3)]
print(len(kept[-1][0]), *runs)
"""


def test_a_batch_sets_off_few_collections_once_they_are_spaced_out() -> None:
    def collections(mode: str) -> list[int]:
        root = Path(__file__).resolve().parents[2]
        command = [sys.executable, "-c", COLLECTIONS, mode]
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=root)
        events, *runs = map(int, done.stdout.split())
        assert events == 10_000
        return runs

    default, spaced = collections("default"), collections("spaced")
    assert sum(default) > 200, default  # the default: a collection each 700 objects
    assert sum(spaced) * 10 < sum(default), (spaced, default)
    assert spaced[1] + spaced[2] < 10 and spaced[2] <= default[2], (spaced, default)
