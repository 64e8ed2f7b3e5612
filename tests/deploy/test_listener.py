"""The change listener and the trigger behind it, against a real PostgreSQL and a real event loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import select
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import psycopg2
import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from healthdash.db.database import create_database
from healthdash.db.listener import CHANNEL, Change, ChangeListener, listener_application_name, parse_payload
from tests.conftest import drop_database

Call = tuple[str, frozenset[int] | None]


class RecordingSink:
    """A score board stand-in that records what it is told, and on which thread."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.days: list[dt.date | None] = []
        self.usage_only: list[bool] = []
        self.threads: set[int] = set()

    def mark_changed(self, customer_ids: Iterable[int], since: dt.date | None = None, usage_only: bool = False) -> None:
        self.calls.append(("changed", frozenset(customer_ids)))
        self.days.append(since)
        self.usage_only.append(usage_only)
        self.threads.add(threading.get_ident())

    def invalidate_all(self) -> None:
        self.calls.append(("everything", None))
        self.threads.add(threading.get_ident())


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the loop run until the condition holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def execute(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def two_customers(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(i) for i in conn.execute(text("SELECT id FROM customers ORDER BY id LIMIT 2")).scalars()]


def insert_logins(engine: Engine, customer_ids: list[int]) -> None:
    execute(
        engine,
        "INSERT INTO events (customer_id, type, occurred_at) SELECT c, 'login', now() FROM unnest(:ids) AS c",
        ids=customer_ids,
    )


def kill_listener(engine: Engine) -> int:
    """Terminate this process's listening connection; return how many were terminated."""
    with engine.connect() as conn:
        terminated = conn.execute(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": listener_application_name()},
        ).scalar_one()
    return int(terminated)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("7", Change(frozenset({7}))),
        ("3,5,3", Change(frozenset({3, 5}))),
        (" 12 ", Change(frozenset({12}))),
        ("2026-11-25:3,17", Change(frozenset({3, 17}), dt.date(2026, 11, 25))),
        ("2026-11-25:", Change(frozenset(), dt.date(2026, 11, 25))),
        ("2026-11-25 usage:4", Change(frozenset({4}), dt.date(2026, 11, 25), usage_only=True)),
        ("2026-11-25 other:4", None),
        ("", Change(frozenset())),
        ("*", None),
        ("7,x", None),
        ("2026-13-01:3", None),
        ("anything else", None),
    ],
)
def test_payload_names_customers_and_the_earliest_day_or_everything(payload: str, expected: Change | None) -> None:
    assert parse_payload(payload) == expected


def test_application_name_tells_the_instance_apart() -> None:
    name = listener_application_name(pid=4242, host="web-7")
    assert name == "healthdash-listener web-7:4242"
    assert len(listener_application_name(pid=4_194_304, host="h" * 200).encode()) <= 63  # NAMEDATALEN - 1


def test_changes_reach_the_sink_on_the_event_loop_thread(notify_db: Engine) -> None:
    sink = RecordingSink()
    listener = ChangeListener(notify_db, sink)
    first, second = two_customers(notify_db)

    async def scenario() -> int:
        listener.start()
        await eventually(lambda: ("everything", None) in sink.calls)  # listening: the cache starts afresh
        assert listener.listening
        insert_logins(notify_db, [first, second, first])
        await eventually(lambda: len(sink.calls) == 2)
        execute(notify_db, "SELECT pg_notify(:channel, '')", channel=CHANNEL)  # names nobody: ignored
        execute(notify_db, "SELECT pg_notify(:channel, '*')", channel=CHANNEL)
        execute(notify_db, "SELECT pg_notify(:channel, 'not ids')", channel=CHANNEL)
        await eventually(lambda: len(sink.calls) == 4)
        return threading.get_ident()

    try:
        loop_thread = asyncio.run(scenario())
    finally:
        listener.stop()
    assert sink.calls == [
        ("everything", None),
        ("changed", frozenset({first, second})),
        ("everything", None),
        ("everything", None),
    ]
    assert sink.threads == {loop_thread}


def test_a_notification_tells_the_earliest_day_of_the_events_written(notify_db: Engine) -> None:
    sink = RecordingSink()
    listener = ChangeListener(notify_db, sink)
    first, second = two_customers(notify_db)

    async def scenario() -> tuple[dt.date, dt.date]:
        listener.start()
        await eventually(lambda: ("everything", None) in sink.calls)
        with notify_db.begin() as conn:
            days = conn.execute(
                text(
                    """INSERT INTO events (customer_id, type, occurred_at)
                       VALUES (:a, 'login', now() - interval '3 days'), (:b, 'api_call', now())
                       RETURNING (occurred_at AT TIME ZONE 'UTC')::date"""
                ),
                {"a": first, "b": second},
            ).scalars()
            earliest, latest = sorted(days)
        await eventually(lambda: len(sink.calls) == 2)
        return earliest, latest

    try:
        earliest, latest = asyncio.run(scenario())
    finally:
        listener.stop()
    assert sink.calls[1] == ("changed", frozenset({first, second}))
    assert sink.days == [earliest] and earliest < latest, "the usage from the earliest event's day on is read again"
    assert sink.usage_only == [True], "logins and API calls change the usage only"


def test_reconnects_and_starts_afresh_after_losing_its_connection(notify_db: Engine) -> None:
    sink = RecordingSink()
    listener = ChangeListener(notify_db, sink)
    first, _ = two_customers(notify_db)

    async def scenario() -> None:
        listener.start()
        await eventually(lambda: len(sink.calls) == 1)
        assert kill_listener(notify_db) == 1
        # a write while the connection is down: its notification is lost, so the listener must drop everything
        await eventually(lambda: len(sink.calls) == 2)
        await eventually(lambda: listener.listening)
        insert_logins(notify_db, [first])
        await eventually(lambda: len(sink.calls) == 3)

    try:
        asyncio.run(scenario())
    finally:
        listener.stop()
    assert sink.calls == [("everything", None), ("everything", None), ("changed", frozenset({first}))]


def test_waits_for_a_database_that_is_down_at_start(admin_url: str, template_db: str) -> None:
    name = f"hd_late_{uuid.uuid4().hex[:8]}"
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url, poolclass=NullPool)
    sink = RecordingSink()
    listener = ChangeListener(engine, sink, connect_timeout=1)

    async def scenario() -> None:
        listener.start()
        await asyncio.sleep(0.5)
        assert sink.calls == []
        assert not listener.listening
        create_database(admin_url, name, template=template_db)
        await eventually(lambda: listener.listening, timeout=10)
        insert_logins(engine, two_customers(engine)[:1])
        await eventually(lambda: len(sink.calls) == 2)

    try:
        asyncio.run(scenario())
    finally:
        listener.stop()
        engine.dispose()
        drop_database(admin_url, name)
    assert sink.calls[0] == ("everything", None)
    assert sink.calls[1][0] == "changed"


def test_stops_promptly_and_closes_its_connection(notify_db: Engine) -> None:
    listener = ChangeListener(notify_db, RecordingSink())

    async def scenario() -> None:
        listener.start()
        await eventually(lambda: listener.listening)

    asyncio.run(scenario())
    started = time.monotonic()
    listener.stop()
    assert time.monotonic() - started < 1.0
    assert not listener.listening
    with notify_db.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": listener_application_name()},
        ).scalar_one()
    assert left == 0
    listener.stop()  # twice is harmless


def test_stops_promptly_while_waiting_to_retry() -> None:
    engine = create_engine("postgresql+psycopg2://nobody@/nowhere?host=/nonexistent", poolclass=NullPool)
    listener = ChangeListener(engine, RecordingSink())

    async def scenario() -> None:
        listener.start()
        listener.start()  # a second start changes nothing
        await asyncio.sleep(0.3)

    asyncio.run(scenario())
    started = time.monotonic()
    listener.stop()
    assert time.monotonic() - started < 1.0
    ChangeListener(engine, RecordingSink()).stop()  # never started: nothing to stop


def test_stops_by_itself_when_its_event_loop_is_gone(notify_db: Engine) -> None:
    listener = ChangeListener(notify_db, RecordingSink())

    async def scenario() -> None:
        listener.start()
        await eventually(lambda: listener.listening)

    asyncio.run(scenario())  # closes the loop
    try:
        insert_logins(notify_db, two_customers(notify_db)[:1])
        deadline = time.monotonic() + 5
        while listener.listening and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not listener.listening
    finally:
        listener.stop()


def test_warns_when_the_schema_has_no_notify_trigger(fresh_db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            """
            DO $$
            DECLARE t record;
            BEGIN
                FOR t IN SELECT tg.tgname FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid
                          WHERE tg.tgrelid = 'events'::regclass AND strpos(p.prosrc, 'healthdash_events') > 0
                LOOP
                    EXECUTE 'DROP TRIGGER ' || quote_ident(t.tgname) || ' ON events';
                END LOOP;
            END;
            $$
            """
        )
    listener = ChangeListener(engine, RecordingSink())

    async def scenario() -> None:
        listener.start()
        await eventually(lambda: listener.listening)

    with caplog.at_level(logging.WARNING, logger="healthdash.listener"):
        try:
            asyncio.run(scenario())
        finally:
            listener.stop()
            engine.dispose()
    assert any("no trigger notifying" in r.getMessage() for r in caplog.records)


class TestTrigger:
    """The trigger on events in db/init.sql.

    Its contract: once an inserting transaction commits, the notifications on the channel name every customer it
    inserted events for (the earliest day, a colon, comma-separated ids; each payload within PostgreSQL's 8000
    bytes), or one of them is `*`.
    """

    @staticmethod
    def notifications(notify_db_url: str, statement: str, commit: bool = True, **params: Any) -> list[str]:
        """Run a statement in its own transaction; return the payloads a listener received on the channel."""
        dsn = make_url(notify_db_url).set(drivername="postgresql").render_as_string(hide_password=False)
        listening = psycopg2.connect(dsn)
        try:
            listening.autocommit = True
            listening.cursor().execute(f"LISTEN {CHANNEL}")
            engine = create_engine(notify_db_url, poolclass=NullPool)
            try:
                with engine.connect() as conn, conn.begin() as transaction:
                    conn.execute(text(statement), params)
                    if not commit:
                        transaction.rollback()
            finally:
                engine.dispose()
            payloads: list[str] = []
            while select.select([listening], [], [], 0.3)[0]:
                listening.poll()
                payloads += [n.payload for n in listening.notifies if n.channel == CHANNEL]
                listening.notifies.clear()
            return payloads
        finally:
            listening.close()

    @staticmethod
    def named(payloads: list[str]) -> list[int]:
        """The customer ids the payloads name, each payload read as the listener reads it."""
        changes = [parse_payload(payload) for payload in payloads]
        assert all(change is not None and change.since is not None for change in changes), payloads
        return [i for change in changes if change is not None for i in sorted(change.customer_ids)]

    def test_a_statement_names_each_of_its_customers_once(self, notify_db_url: str) -> None:
        engine = create_engine(notify_db_url, poolclass=NullPool)
        first, second = two_customers(engine)
        engine.dispose()
        payloads = self.notifications(
            notify_db_url,
            "INSERT INTO events (customer_id, type, occurred_at) "
            "SELECT c, 'login', now() FROM unnest(CAST(:ids AS bigint[])) AS c",
            ids=[first, second, first, second, first],
        )
        assert sorted(self.named(payloads)) == [first, second]

    def test_a_statement_says_whether_it_changed_usage_only(self, notify_db_url: str) -> None:
        engine = create_engine(notify_db_url, poolclass=NullPool)
        first, _ = two_customers(engine)
        engine.dispose()
        insert = "INSERT INTO events (customer_id, type, occurred_at) VALUES (:c, 'login', now()), (:c, :other, now())"
        usage = [parse_payload(p) for p in self.notifications(notify_db_url, insert, c=first, other="login")]
        ticket = [parse_payload(p) for p in self.notifications(notify_db_url, insert, c=first, other="ticket_closed")]
        assert [c.usage_only for c in usage if c] == [True] and [c.usage_only for c in ticket if c] == [False]

    def test_an_insert_of_no_rows_notifies_nobody(self, notify_db_url: str) -> None:
        payloads = self.notifications(
            notify_db_url,
            "INSERT INTO events (customer_id, type, occurred_at) SELECT id, 'login', now() FROM customers WHERE false",
        )
        assert payloads == []

    def test_a_rolled_back_insert_notifies_nobody(self, notify_db_url: str) -> None:
        payloads = self.notifications(
            notify_db_url,
            "INSERT INTO events (customer_id, type, occurred_at) SELECT id, 'login', now() FROM customers",
            commit=False,
        )
        assert payloads == []

    def test_many_customers_fit_the_payload_limit(self, notify_db_url: str) -> None:
        engine = create_engine(notify_db_url, poolclass=NullPool)
        execute(
            engine,
            "INSERT INTO customers (name, segment, plan, seats) "
            "SELECT 'Bulk ' || n, 'smb', 'starter', 5 FROM generate_series(1, 3000) AS n",
        )
        with engine.connect() as conn:
            everyone = sorted(int(i) for i in conn.execute(text("SELECT id FROM customers")).scalars())
        engine.dispose()
        payloads = self.notifications(
            notify_db_url,
            "INSERT INTO events (customer_id, type, occurred_at) SELECT id, 'login', now() FROM customers",
        )
        assert payloads and all(len(p.encode()) <= 8000 for p in payloads)
        assert "*" in payloads or sorted(self.named(payloads)) == everyone
