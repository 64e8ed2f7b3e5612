"""What the handlers share: a view of a snapshot is built once, in the thread pool, and again after a failure."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from healthdash.api import jsonio
from healthdash.api.context import ApiContext
from healthdash.api.problem import Problem
from healthdash.board import ScoreBoard, Snapshot
from healthdash.clock import utc_now
from healthdash.commit_ticket import Abandoned, CommitTicket, start_commit
from healthdash.score_table import COLUMNS, ScoreTable
from healthdash.service import HealthService


def test_a_view_is_built_once_off_the_event_loop_and_again_after_a_failure(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    api = ApiContext(service, ScoreBoard(service, executor), executor, ())
    snapshot = Snapshot(ScoreTable(np.array([], dtype=np.int64), {c: np.array([]) for c in COLUMNS}), utc_now(), 0.0)
    threads: list[threading.Thread] = []

    def build(value: int) -> int:
        threads.append(threading.current_thread())
        if len(threads) == 1:
            raise RuntimeError("the first build fails")
        return 2 * value

    async def scenario() -> list[int]:
        with pytest.raises(RuntimeError, match="the first build fails"):
            await api.view(snapshot, "key", build, 21)
        return await asyncio.gather(*(api.view(snapshot, "key", build, 21) for _ in range(5)))

    assert asyncio.run(scenario()) == [42] * 5
    assert len(threads) == 2  # the failed build, then one build for five readers
    assert threading.main_thread() not in threads


def test_the_recent_history_is_read_once_kept_while_read_again_and_none_without_a_database(
    service: HealthService, executor: ThreadPoolExecutor, unreachable_url: str
) -> None:
    api = ApiContext(service, ScoreBoard(service, executor), executor, ())

    async def scenario() -> list[object]:
        first = await api.digest()
        again = await api.digest()
        assert first is not None
        old = api._digest = dataclasses.replace(first, built=first.built - 3600)  # an hour old
        stale = await api.digest()  # answered at once with the old one, read again meanwhile
        assert api._reading_digest is not None
        await api._reading_digest
        return [first, again, old, stale, await api.digest()]

    first, again, old, stale, fresh = asyncio.run(scenario())
    assert again is first and stale is old
    assert fresh is not old and fresh.built > old.built  # type: ignore[attr-defined]

    port = unreachable_url.rsplit(":", 1)[1]
    away = HealthService(
        create_engine(f"postgresql+psycopg2://u@127.0.0.1:{port}/db", poolclass=NullPool), service.config
    )
    lost = ApiContext(away, ScoreBoard(away, executor), executor, ())
    assert asyncio.run(lost.digest()) is None  # the dashboard goes without movers rather than failing


def test_a_write_past_its_deadline_is_answered_503_saying_whether_it_was_stored(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    api = ApiContext(service, ScoreBoard(service, executor), executor, (), deadline=0.2)
    release = threading.Event()
    outcomes: dict[bool, str] = {}

    def write(reached_commit: bool, tickets: list[CommitTicket]) -> str:
        if reached_commit:
            start_commit(tickets)  # the database froze during COMMIT
            release.wait(10)
            outcomes[reached_commit] = "stored"
            return "stored"
        release.wait(10)  # the database hangs before COMMIT
        try:
            start_commit(tickets)
        except Abandoned:
            outcomes[reached_commit] = "rolled back"
            raise
        outcomes[reached_commit] = "stored"
        return "stored"

    async def scenario() -> list[str]:
        details = []
        for reached_commit in (False, True):
            with pytest.raises(Problem) as answered:
                await api.write(write, reached_commit)
            assert answered.value.status == 503 and answered.value.headers["Retry-After"].isdigit()
            details.append(answered.value.detail)
        release.set()
        await asyncio.sleep(0.5)
        return details

    nothing, unknown = asyncio.run(scenario())
    assert "nothing was stored" in nothing
    assert "unknown" in unknown and "Idempotency-Key" in unknown
    assert outcomes == {False: "rolled back", True: "stored"}  # the first client was told the truth


def test_a_health_from_memory_and_the_database_at_once_is_the_health_read_wholly_from_the_database(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    """An answer joins the evidence read in one thread and the score computed in another (from memory for a settled
    customer); it is the answer the database alone gives, also while memory cannot tell (being changed) and for a
    customer with a change not yet in memory."""
    board = ScoreBoard(service, executor)
    api = ApiContext(service, board, executor, ())

    async def scenario() -> None:
        snapshot = await board.current()
        for customer in (int(i) for i in snapshot.scores.ids[:12]):
            assert board.settled(customer)
            now = utc_now()
            in_parts = await api._health(customer, now, 50, 0, True)
            whole = service.customer_health(customer, now, 50, 0)
            assert in_parts is not None and json.loads(in_parts) == json.loads(jsonio.dumps(whole)), customer
            assert list(json.loads(in_parts)) == list(json.loads(jsonio.dumps(whole)))  # the same keys in order
        customer = int(snapshot.scores.ids[0])
        with board.signals._lock:  # a computation holds the memory: the database gives the score too
            assert board.signals_for(customer, utc_now()) is None
            held = await api._health(customer, utc_now(), 5, 1, True)
        assert held is not None and json.loads(held)["events"]["limit"] == 5
        assert (
            json.loads(held)["score"] == json.loads(jsonio.dumps(service.customer_health(customer, utc_now())))["score"]
        )
        unsettled = await api._health(customer, now, 50, 0, False)  # from the database
        assert unsettled is not None and json.loads(unsettled) == json.loads(
            jsonio.dumps(service.customer_health(customer, now))
        )
        assert await api._health(10**12, utc_now(), 50, 0, True) is None  # no such customer

    asyncio.run(scenario())


def test_a_health_with_its_score_from_the_tables_row_is_the_health_read_wholly_from_the_database(
    service: HealthService, executor: ThreadPoolExecutor
) -> None:
    """As of now, a settled customer's score and factors come from the score table's row and only the evidence from
    the database: the answer is the one the database alone gives, keys in the same order."""
    board = ScoreBoard(service, executor)
    api = ApiContext(service, board, executor, ())

    async def scenario() -> None:
        snapshot = await board.current()
        for customer in (int(i) for i in snapshot.scores.ids[:12]):
            assert board.explained_row(customer, utc_now()) is not None
            answer = await api.health(customer, None, 20, 2)
            whole = json.loads(jsonio.dumps(service.customer_health(customer, utc_now(), 20, 2)))
            assert answer is not None
            given = json.loads(answer)
            assert given.pop("as_of") <= whole.pop("as_of")  # the moment each was asked
            assert given == whole, customer
            assert list(given) == list(whole)
        assert await api.health(10**12, None, 50, 0) is None  # no such customer

    asyncio.run(scenario())
