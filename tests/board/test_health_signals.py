"""A customer's signals from the board's memory, and its row of the score table: the same health as from the database,
and only when up to date."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from healthdash.board import ScoreBoard
from healthdash.clock import utc_now
from healthdash.score_table import COLUMNS, ScoreTable
from healthdash.service import HealthService
from tests.board.test_board import board_and_lowest_login


def test_the_health_from_memory_equals_the_health_read_from_the_database(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board, snapshot, _ = await board_and_lowest_login(service, executor)
        now = utc_now()
        for customer in snapshot.table.index[:40]:
            signals = board.signals_for(int(customer), now)
            assert signals is not None and board.settled(int(customer))
            remembered = service.customer_health(int(customer), now, signals=signals)
            assert remembered == service.customer_health(int(customer), now), customer

    asyncio.run(scenario())


def test_a_change_not_yet_patched_in_keeps_the_customer_out_of_memory_until_it_is(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board, _, customer = await board_and_lowest_login(service, executor)
        now = utc_now()
        before = service.customer_health(customer, now, signals=board.signals_for(customer, now))
        for days_ago in range(1, 6):
            service.record_event(customer, "login", now - dt.timedelta(days=days_ago), {})
        board.mark_changed([customer], since=(now - dt.timedelta(days=5)).date(), usage_only=True)
        assert not board.settled(customer)  # memory holds the usage before these logins
        await board.flush()
        assert board.settled(customer)
        after = utc_now()
        remembered = service.customer_health(customer, after, signals=board.signals_for(customer, after))
        assert remembered == service.customer_health(customer, after)
        assert before is not None and remembered is not None
        assert remembered["score"] is not None and before["score"] is not None
        assert remembered["score"] > before["score"]

    asyncio.run(scenario())


def test_memory_does_not_answer_for_another_day_an_unknown_customer_or_while_it_is_being_changed(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board, _, customer = await board_and_lowest_login(service, executor)
        now = utc_now()
        assert board.signals_for(customer, now - dt.timedelta(days=3)) is None
        assert board.signals_for(999_999, now) is None
        with board.signals._lock:  # a build or a patch holds the memory: the reader does not wait for it
            assert board.signals_for(customer, now) is None
        assert board.signals_for(customer, now) is not None
        board.invalidate_all()
        assert board.signals_for(customer, now) is None

    asyncio.run(scenario())


def test_warming_builds_the_memory_without_making_the_caller_wait(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board = ScoreBoard(service, executor, max_age=60)
        board.warm()
        assert board.signals_for(1, utc_now()) is None  # nothing built yet: the caller reads the database
        assert board._rebuild is not None
        await board._rebuild
        assert board.signals_for(1, utc_now()) is not None

    asyncio.run(scenario())


def test_warming_after_a_failed_build_leaves_the_retry_to_the_next_reader(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board = ScoreBoard(service, executor, max_age=60)
        board._rebuild_failed = True  # as after a build while the database was away
        board.warm()
        assert board._rebuild is None
        await board.current()  # a reader of the table builds it in the open
        assert board.signals_for(1, utc_now()) is not None

    asyncio.run(scenario())


def test_a_customers_row_of_the_score_table_explains_its_score_as_scoring_its_signals_read_again_does(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    """The health's score and factors from the table's row (its signals kept beside it) are those of the customer's
    signals read from the database and scored again, for every customer."""

    async def scenario() -> None:
        board, snapshot, _ = await board_and_lowest_login(service, executor)
        now = utc_now()
        assert snapshot.scores.explains
        for customer in (int(i) for i in snapshot.scores.ids):
            row = board.explained_row(customer, now)
            assert row is not None, customer
            read_again = service.customer_score(service.customer_signals(customer, now))
            assert service.explained_score(row) == read_again, customer

    asyncio.run(scenario())


def test_the_tables_row_is_not_used_for_another_day_an_unknown_customer_or_a_change_not_patched_in(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board, _, customer = await board_and_lowest_login(service, executor)
        now = utc_now()
        before = board.explained_row(customer, now)
        assert before is not None
        assert board.explained_row(customer, now - dt.timedelta(days=1)) is None
        assert board.explained_row(999_999, now) is None
        past = await board.at(now - dt.timedelta(days=3))
        assert not past.scores.explains  # a past table explains no health: it keeps no signals
        for days_ago in range(1, 6):
            service.record_event(customer, "login", now - dt.timedelta(days=days_ago), {})
        board.mark_changed([customer], since=(now - dt.timedelta(days=5)).date(), usage_only=True)
        assert board.explained_row(customer, now) is None  # the row holds the score before these logins
        await board.flush()
        after = board.explained_row(customer, utc_now())
        assert after is not None and after["score"] > before["score"] and after["login_days"] > before["login_days"]
        assert service.explained_score(after) == service.customer_score(service.customer_signals(customer, now))

    asyncio.run(scenario())


def test_rows_written_in_without_their_signals_leave_a_table_that_scores_again(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    """A table built from a frame holds no signals: written into one that does, the result cannot explain its rows
    from itself, and the health is scored from the signals again (never explained from missing values)."""

    async def scenario() -> None:
        board, snapshot, customer = await board_and_lowest_login(service, executor)
        framed = ScoreTable.from_frame(snapshot.table.loc[[customer]])
        plain = ScoreTable(framed.ids, framed.columns, time.monotonic())  # newer than the rows it replaces
        assert not plain.explains
        for merged in (snapshot.scores.update(plain), ScoreTable.latest([snapshot.scores, plain])):
            assert not merged.explains and len(merged.columns) == len(COLUMNS)
        board._current = snapshot.updated(plain)
        assert board.explained_row(customer, utc_now()) is None
        kept = snapshot.scores.take(np.arange(3))
        assert kept.explains and snapshot.scores.update(kept).explains

    asyncio.run(scenario())
