"""Activity just stored, rescored from the board's memory and the rows of the days written: the same scores as the
signals query's, also for a customer written again before the board heard of the first write."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import text

from healthdash.board import ScoreBoard
from healthdash.clock import utc_now
from healthdash.recording import Activity
from healthdash.service import HealthService
from tests.board.test_board import board_and_lowest_login


def answered_from_memory(service: HealthService) -> list[bool]:
    """Record, for each group written from now on, whether memory gave its scores (the real function, watched)."""
    answered: list[bool] = []
    from_memory = service.written_scores
    assert from_memory is not None, "the board rescores writes from memory"

    def watched(*args: Any) -> Any:
        rows = from_memory(*args)
        answered.append(rows is not None)
        return rows

    service.written_scores = watched
    return answered


def as_the_database_scores(service: HealthService, events: Sequence[Activity]) -> list[tuple[float | None, str]]:
    """Each event's customer's score and tier now, computed by the signals query alone."""
    ids = sorted({customer for customer, *_ in events})
    table = service.scores(utc_now(), ids)
    rows = dict(zip(table.ids.tolist(), zip(table.columns["score"].tolist(), table.columns["tier"], strict=True),
                    strict=True))  # fmt: skip
    return [(rows[c][0], rows[c][1]) for c, *_ in events]


def recorded(service: HealthService, events: Sequence[Activity]) -> list[tuple[float | None, str]]:
    results = service.record_activities(events)
    answers = []
    for result in results:
        assert result is not None and not isinstance(result, BaseException)
        answers.append((result.health["score"], result.health["tier"]))
    return answers


def feature(service: HealthService) -> str:
    with service.engine.connect() as conn:
        return str(conn.execute(text("SELECT key FROM features ORDER BY bit LIMIT 1")).scalar_one())


def test_a_group_of_activity_is_rescored_from_memory_as_the_database_would(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        _, snapshot, _ = await board_and_lowest_login(service, executor)
        answered = answered_from_memory(service)
        now = utc_now()
        customers = [int(c) for c in snapshot.table.index[:12]]
        events: list[Activity] = []
        for n, customer in enumerate(customers):
            when = now - dt.timedelta(days=n * 7)  # today, and back to 77 days ago: every window
            events.append((customer, "login", when, {}))
            events.append((customer, "api_call", when, {"count": 50 + n}))
            events.append((customer, "feature_use", when - dt.timedelta(days=1), {"feature": feature(service)}))
        answers = await asyncio.to_thread(recorded, service, events)
        assert answered == [True]
        assert answers == as_the_database_scores(service, events)

    asyncio.run(scenario())


def test_a_customer_written_again_before_the_board_heard_of_it_includes_both_writes(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board, snapshot, customer = await board_and_lowest_login(service, executor)
        answered = answered_from_memory(service)
        now = utc_now()
        before = float(snapshot.table.loc[customer, "score"])
        # logins back-dated to days without one, then a login today, with no mark reaching the board in between (as
        # when two groups are written one after the other before the first one's answers are sent)
        first = [(customer, "login", now - dt.timedelta(days=d), {}) for d in (3, 5, 8, 13, 21)]
        (after_first,) = set(await asyncio.to_thread(recorded, service, first))
        assert after_first[0] is not None and after_first[0] > before
        second: list[Activity] = [(customer, "login", now, {})]
        assert board.settled(customer)  # memory still holds the usage before the first write
        answers = await asyncio.to_thread(recorded, service, second)
        assert answered == [True, True]
        assert answers == as_the_database_scores(service, second)

    asyncio.run(scenario())


def test_memory_does_not_rescore_a_customer_with_a_change_not_patched_in_or_while_it_is_held(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board, _, customer = await board_and_lowest_login(service, executor)
        answered = answered_from_memory(service)
        events: list[Activity] = [(customer, "login", utc_now(), {})]
        board.patch_interval, board._last_patch = 3600, time.monotonic()  # the next patch waits its turn
        board.mark_changed([customer], usage_only=True)  # heard of, not patched in yet
        assert await asyncio.to_thread(recorded, service, events) == as_the_database_scores(service, events)
        await board.flush()
        with board.signals._lock:  # a build or a patch holds the memory: the writer does not wait for it
            assert await asyncio.to_thread(recorded, service, events) == as_the_database_scores(service, events)
        assert await asyncio.to_thread(recorded, service, events) == as_the_database_scores(service, events)
        assert answered == [False, False, True]
        board.invalidate_all()
        assert await asyncio.to_thread(recorded, service, events) == as_the_database_scores(service, events)
        assert answered[-1] is False

    asyncio.run(scenario())


def test_a_customer_whose_usage_changed_a_moment_ago_is_rescored_from_memory_with_those_days_read_again(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    async def scenario() -> None:
        board, _, customer = await board_and_lowest_login(service, executor)
        answered = answered_from_memory(service)
        board.patch_interval, board._last_patch = 3600, time.monotonic()  # the next patch waits its turn
        days_ago = utc_now() - dt.timedelta(days=4)
        with service.engine.begin() as conn:  # another instance's write: not in this process's memory
            conn.execute(
                text("INSERT INTO events (customer_id, type, occurred_at) VALUES (:c, 'login', :at)"),
                {"c": customer, "at": days_ago},
            )
        board.mark_changed([customer], since=days_ago.date(), usage_only=True)  # as its notification says
        events: list[Activity] = [(customer, "login", utc_now(), {})]
        assert await asyncio.to_thread(recorded, service, events) == as_the_database_scores(service, events)
        assert answered == [True]  # from memory, the days from the mark's on read again
        board.mark_changed([customer], since=days_ago.date())  # its tickets, invoices or profile too
        assert await asyncio.to_thread(recorded, service, events) == as_the_database_scores(service, events)
        assert answered == [True, False]

    asyncio.run(scenario())


def test_a_board_rescores_only_writes_of_its_own_service(service: HealthService, executor: ThreadPoolExecutor) -> None:
    board = ScoreBoard(service, executor, max_age=60)
    assert service.written_scores == board.scores_after_write
