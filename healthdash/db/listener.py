"""Change notifications from PostgreSQL: every instance hears about every recorded event, whichever took it.

A trigger on `events` (db/init.sql) runs `pg_notify('healthdash_events', ...)` for each inserting statement, with the
earliest day of its events, ` usage` when they are all activity, and the comma-separated ids of the customers
concerned (`2026-11-25 usage:3,17`), or `*` when there are too many to list. A trigger on `customers` does the same
for customers added or changed, with the current day (their profile is read again). The score board then reads again
only the usage from that day on, and the tickets, invoices and profiles only when the change was not usage only. A
`ChangeListener` keeps one dedicated connection listening on that channel in a background thread and hands each
notification to the event loop, where the score board marks those customers as changed. When the connection is lost
it reconnects with backoff and, once listening again, drops the whole cache: notifications sent meanwhile are lost
for good. An instance hears its own writes too; why the board takes them this way as well is said in
healthdash/board/board.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import select
import socket
import threading
from collections.abc import Iterable
from contextlib import suppress
from typing import Any, NamedTuple, Protocol

import psycopg2
from sqlalchemy import Engine

from healthdash.clock import earliest

CHANNEL = "healthdash_events"
EVERYTHING = "*"
FIRST_RETRY_SECONDS = 0.25
MAX_RETRY_SECONDS = 10.0
POLL_SECONDS = 5.0
# whether a trigger on events notifies the channel: without it, other instances' writes go unheard
TRIGGER_INSTALLED = """
    SELECT EXISTS (
        SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
         WHERE t.tgrelid = to_regclass('public.events') AND NOT t.tgisinternal
           AND strpos(p.prosrc, 'healthdash_events') > 0
    )
"""
log = logging.getLogger("healthdash.listener")


class ChangeSink(Protocol):
    """What the listener tells about changes (the score board)."""

    def mark_changed(
        self, customer_ids: Iterable[int], since: dt.date | None = None, usage_only: bool = False
    ) -> None: ...

    def invalidate_all(self) -> None: ...


class Change(NamedTuple):
    """Customers whose scores may have changed, the earliest day of their usage that did (None: any day), and
    whether only their usage did (activity events only)."""

    customer_ids: frozenset[int]
    since: dt.date | None = None
    usage_only: bool = False


def parse_payload(payload: str) -> Change | None:
    """Return what a notification says changed, or None when anything may have changed."""
    text = payload.strip()
    since: dt.date | None = None
    usage_only = False
    if ":" in text:
        head, _, text = text.partition(":")
        day, *kind = head.split()
        usage_only = kind == ["usage"]
        try:
            since = dt.date.fromisoformat(day)
        except ValueError:
            return None  # not ours to understand: assume the worst
        if kind and not usage_only:
            return None
        text = text.strip()
    if not text:
        return Change(frozenset(), since, usage_only)
    if text == EVERYTHING:
        return None
    try:
        return Change(frozenset(int(part) for part in text.split(",")), since, usage_only)
    except ValueError:
        return None  # not ours to understand: assume the worst


def listener_application_name(pid: int | None = None, host: str | None = None) -> str:
    """Return the application_name of a process's listening connection (as shown in pg_stat_activity)."""
    host = socket.gethostname() if host is None else host
    return f"healthdash-listener {host[:32]}:{os.getpid() if pid is None else pid}"


class ChangeListener:
    """Listen for change notifications on a dedicated connection and apply them to a sink on the event loop."""

    def __init__(self, engine: Engine, sink: ChangeSink, *, connect_timeout: int = 2) -> None:
        self.engine = engine
        self.sink = sink
        self.connect_timeout = connect_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._wake: tuple[int, int] | None = None  # a pipe that interrupts the thread's select() on stop

    @property
    def listening(self) -> bool:
        """Tell whether the connection is up and listening."""
        return self._listening.is_set()

    def start(self) -> None:
        """Start listening in the background; call from the event loop that owns the sink."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = os.pipe()
        self._thread = threading.Thread(target=self._run, name="healthdash-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening and close the connection (waits for the thread at most `timeout` seconds)."""
        self._stopping.set()
        if self._thread is None or self._wake is None:
            return
        os.write(self._wake[1], b"x")
        self._thread.join(timeout)
        if not self._thread.is_alive():
            for fd in self._wake:
                os.close(fd)
            self._wake = None

    def _run(self) -> None:
        delay = FIRST_RETRY_SECONDS
        failures = 0
        while not self._stopping.is_set():
            conn: Any = None
            try:
                conn = self._connect()
                self._subscribe(conn)
                if failures:
                    log.warning("change listener: listening again after %d failed attempts", failures)
                delay, failures = FIRST_RETRY_SECONDS, 0
                self._listening.set()
                self._deliver(None)  # whatever was written while nobody listened is unknown: start afresh
                self._receive(conn)
            except psycopg2.Error as exc:
                if self._listening.is_set():
                    log.warning("change listener: lost the connection (%s); reconnecting", _first_line(exc))
                else:
                    if failures == 0:
                        log.warning("change listener: cannot listen (%s); retrying", _first_line(exc))
                    failures += 1
                    self._stopping.wait(delay)
                    delay = min(delay * 2, MAX_RETRY_SECONDS)
            finally:
                self._listening.clear()
                if conn is not None:
                    with suppress(psycopg2.Error):
                        conn.close()

    def _connect(self) -> Any:
        args, params = self.engine.dialect.create_connect_args(self.engine.url)
        params.update(
            application_name=listener_application_name(),
            connect_timeout=self.connect_timeout,
            # a peer that vanishes without closing the connection is noticed within about 30 seconds
            keepalives=1,
            keepalives_idle=15,
            keepalives_interval=5,
            keepalives_count=3,
        )
        conn = psycopg2.connect(*args, **params)
        conn.autocommit = True
        return conn

    def _subscribe(self, conn: Any) -> None:
        with conn.cursor() as cur:
            cur.execute(TRIGGER_INSTALLED)
            if not cur.fetchone()[0]:
                log.warning(
                    "change listener: the events table has no trigger notifying %r; writes through other "
                    "instances show here only when the cache expires (load the trigger from db/init.sql)",
                    CHANNEL,
                )
            cur.execute(f"LISTEN {CHANNEL}")

    def _receive(self, conn: Any) -> None:
        assert self._wake is not None
        while not self._stopping.is_set():
            ready, _, _ = select.select([conn, self._wake[0]], [], [], POLL_SECONDS)
            if self._stopping.is_set():
                return
            if conn in ready:
                conn.poll()
                if conn.notifies:
                    payloads = [n.payload for n in conn.notifies if n.channel == CHANNEL]
                    conn.notifies.clear()
                    self._deliver(_merge(payloads))

    def _deliver(self, change: Change | None) -> None:
        if change is not None and not change.customer_ids:
            return
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._apply, change)
        except RuntimeError:  # the loop is closed: the server is going away
            self._stopping.set()

    def _apply(self, change: Change | None) -> None:
        if change is None:
            self.sink.invalidate_all()
        else:
            self.sink.mark_changed(change.customer_ids, change.since, change.usage_only)


def _merge(payloads: list[str]) -> Change | None:
    changes = [parse_payload(payload) for payload in payloads]
    named = [change for change in changes if change is None or change.customer_ids]
    if any(change is None for change in named):
        return None
    found = [change for change in named if change is not None]
    ids = frozenset().union(*(change.customer_ids for change in found))
    return Change(ids, earliest(c.since for c in found), all(c.usage_only for c in found))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
