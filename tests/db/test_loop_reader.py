"""Reads on the event loop (`LoopReader`): the same rows as through the engine, at most `size` connections, and a
connection that failed or was given up is never used again."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy.exc
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.db import reads
from healthdash.db.engine import async_connector, make_engine
from healthdash.db.loop_reader import LoopReader
from healthdash.db.prepared import Statement
from tests.servers import loopback_socket

AS_OF = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
SETTINGS = Statement(
    "hd_test_settings",
    "SELECT current_setting('plan_cache_mode'), current_setting('statement_timeout'), pg_backend_pid(), %(n)s",
    {"n": "integer"},
)
SLEEP = Statement("hd_test_sleep", "SELECT pg_sleep(%(s)s), pg_backend_pid()", {"s": "float8"})


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


def reader_of(url: str, pool: ThreadPoolExecutor, size: int = 3) -> LoopReader:
    return LoopReader(async_connector(url, statement_timeout=5.0), size, pool, timeout=3.0)


def test_a_customers_evidence_read_on_the_loop_is_the_one_read_through_the_engine(
    fresh_db_url: str, pool: ThreadPoolExecutor
) -> None:
    engine = make_engine(fresh_db_url, pool_size=1, autocommit=True, generic_plans=True)
    reader = reader_of(fresh_db_url, pool)

    async def scenario() -> None:
        for customer_id, events in ((1, (50, 0)), (2, (5, 3)), (3, (500, 0)), (10**9, (50, 0))):
            params = reads.evidence_parameters(customer_id, AS_OF, 14, events, 90)
            document = reads.evidence_document(await reader.rows(reads.EVIDENCE, params))
            with engine.connect() as conn:
                assert document == reads.customer_evidence_json(conn, customer_id, AS_OF, 14, events, 90)
            assert (document is None) is (customer_id == 10**9)
        mode, timeout, _, n = (await reader.rows(SETTINGS, {"n": 7}))[0]
        assert (mode, timeout, n) == ("force_generic_plan", "5s", 7)  # set up as the reads' engine is

    try:
        asyncio.run(scenario())
    finally:
        reader.close()
        engine.dispose()


def test_more_readers_than_connections_take_turns(fresh_db_url: str, pool: ThreadPoolExecutor) -> None:
    reader = reader_of(fresh_db_url, pool, size=3)
    most = 0

    async def one(n: int) -> int:
        nonlocal most
        rows = await reader.rows(SLEEP, {"s": 0.05})
        most = max(most, reader.open)
        return int(rows[0][1])

    async def scenario() -> set[int]:
        return set(await asyncio.gather(*(one(n) for n in range(12))))

    try:
        backends = asyncio.run(scenario())
    finally:
        reader.close()
    assert most == 3 and len(backends) == 3  # twelve reads over three connections, each kept for the next
    assert reader.open == 0


def test_a_read_given_up_closes_its_connection_and_a_waiting_reader_goes_on(
    fresh_db_url: str, pool: ThreadPoolExecutor
) -> None:
    reader = reader_of(fresh_db_url, pool, size=1)

    async def scenario() -> None:
        with pytest.raises(TimeoutError):  # past its deadline: the statement is still running
            await asyncio.wait_for(reader.rows(SLEEP, {"s": 3}), 0.3)
        assert reader.open == 0  # that connection is closed, not handed to the next reader mid-statement
        first = asyncio.ensure_future(reader.rows(SLEEP, {"s": 0.3}))
        await asyncio.sleep(0.1)
        given_up = asyncio.ensure_future(reader.rows(SLEEP, {"s": 0}))
        waiting = asyncio.ensure_future(reader.rows(SLEEP, {"s": 0}))
        await asyncio.sleep(0.05)
        given_up.cancel()  # it waits for the one connection; its turn passes to the next
        assert (await asyncio.wait_for(waiting, 2))[0][1] == (await first)[0][1]
        assert given_up.cancelled() and reader.open == 1

    try:
        asyncio.run(scenario())
    finally:
        reader.close()


def test_a_lost_connection_fails_its_read_as_the_engine_would_and_is_replaced(
    fresh_db_url: str, pool: ThreadPoolExecutor
) -> None:
    reader = reader_of(fresh_db_url, pool, size=2)
    admin = create_engine(fresh_db_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def terminate(pid: int) -> None:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid, 2000)"), {"pid": pid})

    async def scenario() -> None:
        pid = (await reader.rows(SETTINGS, {"n": 1}))[0][2]
        terminate(pid)
        with pytest.raises(sqlalchemy.exc.OperationalError) as lost:  # used again at once: no ping first
            await reader.rows(SETTINGS, {"n": 1})
        assert lost.value.connection_invalidated and reader.open == 0
        pid = (await reader.rows(SETTINGS, {"n": 2}))[0][2]  # a new connection
        terminate(pid)
        reader._idle[0].returned -= 2.0  # idle for longer than PING_IDLE_SECONDS: asked first, found gone, replaced
        again = await reader.rows(SETTINGS, {"n": 3})
        assert again[0][3] == 3 and again[0][2] != pid and reader.open == 1

    try:
        asyncio.run(scenario())
    finally:
        reader.close()
        admin.dispose()


def test_a_database_that_refuses_connections_fails_the_read_as_the_engine_would(pool: ThreadPoolExecutor) -> None:
    with loopback_socket() as sock:  # held, nothing listens: every connection is refused
        reader = reader_of(f"postgresql+psycopg2://postgres@127.0.0.1:{sock.getsockname()[1]}/none", pool)

        async def scenario() -> None:
            with pytest.raises(sqlalchemy.exc.OperationalError):
                await reader.rows(SETTINGS, {"n": 1})

        asyncio.run(scenario())
    assert reader.open == 0
