"""The server-side score cache: built once, patched on writes, rebuilt in the background when stale."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from healthdash.board import ScoreBoard, Snapshot
from healthdash.board.signals import Signals
from healthdash.clock import utc_now
from healthdash.score_table import ScoreTable
from healthdash.service import HealthService


def lowest_login_customer(table: pd.DataFrame) -> int:
    scored = table[table["tier"] != "insufficient_data"]
    return int(scored["login_frequency"].idxmin())


async def board_and_lowest_login(
    service: HealthService, executor: ThreadPoolExecutor
) -> tuple[ScoreBoard, Snapshot, int]:
    board = ScoreBoard(service, executor, max_age=60)
    before = await board.current()
    return board, before, lowest_login_customer(before.table)


def held_back(signals: Signals, name: str) -> tuple[threading.Event, threading.Event]:
    """Make one of the board's computations (the real one) tell when it has computed its table, then wait with it
    until told to go on: what happens meanwhile happens while the board waits for that table."""
    computed, go_on = threading.Event(), threading.Event()
    compute = getattr(signals, name)

    def compute_then_wait(*args: object) -> ScoreTable:
        table: ScoreTable = compute(*args)
        computed.set()
        go_on.wait(30)
        return table

    setattr(signals, name, compute_then_wait)
    return computed, go_on


def test_the_snapshot_is_built_once_and_reused(service: HealthService, executor: ThreadPoolExecutor) -> None:
    async def scenario() -> None:
        board = ScoreBoard(service, executor, max_age=60)
        first = await board.current()
        second = await board.current()
        assert first is second
        assert len(first.table) >= 60
        assert first.view("k", lambda: object()) is first.view("k", lambda: object())

    asyncio.run(scenario())


def test_a_recorded_event_is_patched_in_and_matches_a_full_recompute(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board, before, customer = await board_and_lowest_login(service, executor)
        for days_ago in range(1, 6):
            service.record_event(customer, "login", utc_now() - dt.timedelta(days=days_ago), {})
        board.mark_changed([customer])
        after = await board.current()
        assert after is not before
        assert after.table.loc[customer, "login_frequency"] > before.table.loc[customer, "login_frequency"]
        recomputed = service.score_frame(after.as_of)
        pd.testing.assert_frame_equal(after.table, recomputed, check_like=True)

    asyncio.run(scenario())


def test_a_stale_snapshot_is_served_while_it_is_rebuilt(service: HealthService, executor: ThreadPoolExecutor) -> None:
    async def scenario() -> None:
        board = ScoreBoard(service, executor, max_age=0.0)
        first = await board.current()
        served = await board.current()
        assert served is first, "readers do not wait for the rebuild"
        assert board._rebuild is not None
        await board._rebuild
        assert (await board.current()).built_at > first.built_at

    asyncio.run(scenario())


def test_past_snapshots_are_cached_until_an_event_arrives(service: HealthService, executor: ThreadPoolExecutor) -> None:
    async def scenario() -> None:
        board = ScoreBoard(service, executor, max_age=60)
        past = utc_now() - dt.timedelta(days=10)
        first = await board.at(past)
        assert await board.at(past) is first
        board.mark_changed([1])
        assert await board.at(past) is not first
        today = await board.at(utc_now())
        assert today is await board.current()

    asyncio.run(scenario())


def test_invalidate_all_rebuilds_from_scratch(service: HealthService, executor: ThreadPoolExecutor) -> None:
    async def scenario() -> None:
        board = ScoreBoard(service, executor, max_age=60)
        first = await board.current()
        board.invalidate_all()
        assert await board.current() is not first

    asyncio.run(scenario())


def test_a_write_read_back_during_a_rebuild_is_kept_by_the_rebuilt_table(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board, _, customer = await board_and_lowest_login(service, executor)
        computed, go_on = held_back(board.signals, "score_all")
        rebuilding = asyncio.ensure_future(board.rebuild())
        while not computed.is_set():
            await asyncio.sleep(0.01)
        outcome = service.record_event(customer, "login", utc_now(), {})  # after the rebuild read the data
        assert outcome is not None
        shown = await board.current()  # read back at once, while the rebuild is still under way
        go_on.set()
        rebuilt = await rebuilding
        assert shown.table.loc[customer, "score"] == rebuilt.table.loc[customer, "score"] == outcome.health["score"]
        pd.testing.assert_frame_equal(rebuilt.table, service.score_frame(rebuilt.as_of), check_like=True)

    asyncio.run(scenario())


def test_rows_written_in_while_a_patch_is_computed_are_kept_with_the_patch(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board, before, patched = await board_and_lowest_login(service, executor)
        fresh = next(int(c) for c in before.table.index if c != patched)
        computed, go_on = held_back(board.signals, "score_some")
        for days_ago in range(1, 6):  # not told to the board as fresh rows: only the patch brings it
            service.record_event(patched, "login", utc_now() - dt.timedelta(days=days_ago), {})
        board.mark_changed([patched])
        patching = asyncio.ensure_future(board.flush())
        while not computed.is_set():
            await asyncio.sleep(0.01)
        outcome = service.record_event(fresh, "login", utc_now(), {})  # its rows reach the board at once
        assert outcome is not None
        shown = await board.current()  # the fresh rows written in while the patch's table is being written
        assert shown.table.loc[fresh, "score"] == outcome.health["score"]
        go_on.set()
        after = await patching
        assert after.table.loc[patched, "login_frequency"] > before.table.loc[patched, "login_frequency"]
        assert after.table.loc[fresh, "score"] == outcome.health["score"]
        pd.testing.assert_frame_equal(after.table, service.score_frame(after.as_of), check_like=True)

    asyncio.run(scenario())


def test_a_rebuilt_table_takes_over_the_order_of_the_names_unless_a_name_changed(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    """The names' order (what the list sorts and searches by) is made once for the customers' names, not again for
    every rebuilt table: at 100,000 customers a sort of their text, and tens of MB at once."""

    async def scenario() -> None:
        board = ScoreBoard(service, executor, max_age=60)
        first = await board.current()
        rank = first.scores.name_rank()
        found = first.scores.search("a")
        again = await board.rebuild()
        assert again.scores is not first.scores
        assert again.scores.name_rank() is rank and again.scores.search("a") is found  # taken over as they were
        some = again.scores.take(np.arange(0, len(again.scores), 3), explained=False)  # the rows of a dashboard
        assert not some.explains and ("name_rank",) in some._derived  # the whole table's order, restricted
        assert some.name_rank().tolist() == ScoreTable(some.ids, some.columns).name_rank().tolist()
        customer = int(first.scores.ids[0])
        service.update_customer(customer, {"name": "Zzzz Last By Name"})
        renamed = await board.rebuild()  # reads the profiles again
        assert renamed.scores.name_rank() is not rank  # a name changed: the order is made again
        afresh = ScoreTable(renamed.scores.ids, renamed.scores.columns)  # nothing derived yet
        assert renamed.scores.name_rank().tolist() == afresh.name_rank().tolist() != rank.tolist()
        position = int(renamed.scores.positions([customer])[0])
        assert renamed.scores.name_keys()[position] == "zzzz last by name"

    asyncio.run(scenario())


def test_a_patch_takes_the_fresh_rows_of_the_writes_before_it(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    """Writes with no reader between them (an integration posting events) leave their fresh rows with the next patch,
    not piled up until someone opens a page: at 100,000 customers ten seconds of them held 60 MB."""

    async def scenario() -> None:
        board, before, customer = await board_and_lowest_login(service, executor)
        other = int(before.table.index[-1])
        for target in (customer, other, customer):
            outcome = service.record_event(target, "login", utc_now() - dt.timedelta(days=2), {})
            assert outcome is not None
        assert len(board._fresh) == 3  # one table of rows per write, waiting for a reader
        board.mark_changed([customer, other])
        await board._patch()  # what the patch loop does a moment later, before anyone reads
        assert len(board._fresh) == 0
        patched = board._current
        assert patched is not None and patched is not before
        assert patched.table.loc[customer, "login_frequency"] > before.table.loc[customer, "login_frequency"]
        pd.testing.assert_frame_equal(patched.table, service.score_frame(patched.as_of), check_like=True)

    asyncio.run(scenario())
