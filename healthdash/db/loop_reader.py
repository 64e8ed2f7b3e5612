"""Reads that run on the event loop itself: prepared statements sent over psycopg2's asynchronous connections.

A read handed to the thread pool costs the interpreter more than the statement's own call: waking a thread, the
thread's turn for the interpreter while the event loop holds it, SQLAlchemy's result machinery, and waking the event
loop again with the answer. For the statement every customer's health runs (its evidence, one row of JSON text), that
was most of what the server spent on an answer. Here the statement is sent without waiting, the event loop goes on
with other requests, and the row is taken when PostgreSQL's answer makes the connection's socket readable: nothing
blocks the event loop, and no thread is involved.

Only opening a connection may block (the host's name is looked up, TCP connects): that runs in the thread pool. The
connections are kept (at most `size`, readers beyond that wait their turn) and autocommit, as asynchronous
connections are; each statement is prepared once per connection. A connection idle for longer than
`PING_IDLE_SECONDS` is asked whether the database still answers before it is used; one whose read failed or was given
up (past its deadline: the statement may still be running) is closed, never reused, and after a failure every idle
one is closed too (the database may have restarted). Failures are raised as SQLAlchemy's errors, as the engine's.
"""

from __future__ import annotations

import asyncio
import select
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions
import sqlalchemy.exc

from healthdash.db.engine import PING_IDLE_SECONDS
from healthdash.db.prepared import Statement

Connect = Callable[[], Any]  # opens a psycopg2 connection with async_=True (blocking: run in a thread)
POLL_OK = psycopg2.extensions.POLL_OK
POLL_READ = psycopg2.extensions.POLL_READ
POLL_WRITE = psycopg2.extensions.POLL_WRITE


@dataclass
class _Held:
    connection: Any
    prepared: set[str]
    returned: float


class LoopReader:
    """Run prepared read statements on the event loop over at most `size` asynchronous connections."""

    def __init__(self, connect: Connect, size: int, executor: Executor, timeout: float) -> None:
        self._connect = connect
        self._executor = executor  # where connections are opened
        self._size = size
        self._timeout = timeout  # seconds a new connection may take
        self._idle: list[_Held] = []
        self._open = 0
        self._waiting: list[asyncio.Future[None]] = []
        self._closed = False

    @property
    def open(self) -> int:
        """How many connections are open (idle or in use)."""
        return self._open

    async def rows(self, statement: Statement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run a prepared statement with these parameters; return its rows."""
        held = await self._take()
        try:
            cursor = held.connection.cursor()
            if statement.name not in held.prepared:
                cursor.execute(statement.prepare)
                await _ready(held.connection)
                held.prepared.add(statement.name)
            cursor.execute(statement.execute, dict(params))
            await _ready(held.connection)
            found: list[tuple[Any, ...]] = cursor.fetchall()
        except psycopg2.Error as error:
            self._lost(held)
            raise _wrapped(error, statement.name) from error
        except BaseException:  # given up (past its deadline): the statement may still run; the connection is not reused
            self._lost(held)
            raise
        self._give_back(held)
        return found

    def close(self) -> None:
        """Close the idle connections, and every other one as it comes back."""
        self._closed = True
        self._close_idle()

    async def _take(self) -> _Held:
        while True:
            while self._idle:
                held = self._idle.pop()
                if time.monotonic() - held.returned <= PING_IDLE_SECONDS or await self._answers(held):
                    return held
            if self._open < self._size:
                self._open += 1
                opening = asyncio.get_running_loop().run_in_executor(self._executor, self._opened)
                try:
                    connection = await asyncio.wait_for(asyncio.shield(opening), self._timeout)
                except BaseException as error:
                    self._open -= 1
                    opening.add_done_callback(_close_unused)  # still opening: closed once open
                    self._wake()
                    if isinstance(error, psycopg2.Error):
                        raise _wrapped(error, "connect") from error
                    if isinstance(error, TimeoutError):
                        raise sqlalchemy.exc.TimeoutError("no new connection to the database in time") from None
                    raise
                return _Held(connection, set(), time.monotonic())
            turn = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
            try:
                await turn
            except BaseException:
                if turn.done() and not turn.cancelled():  # woken, then given up: the next one waiting goes instead
                    self._wake()
                raise
            finally:
                self._waiting.remove(turn)

    def _opened(self) -> Any:
        """Open a connection and wait until it is ready (in a thread: the name lookup and connect may block)."""
        connection = self._connect()
        while (state := connection.poll()) != POLL_OK:
            fd = connection.fileno()
            ready = (
                select.select([fd], [], [], self._timeout)
                if state == POLL_READ
                else select.select([], [fd], [], self._timeout)
            )
            if not any(ready):
                connection.close()
                raise psycopg2.OperationalError("timeout expired")
        return connection

    async def _answers(self, held: _Held) -> bool:
        """Whether an idle connection still reaches the database (else it is closed)."""
        try:
            held.connection.cursor().execute("SELECT 1")
            await _ready(held.connection)
        except psycopg2.Error:
            self._lost(held, everyone=False)
            return False
        except BaseException:
            self._lost(held, everyone=False)
            raise
        return True

    def _give_back(self, held: _Held) -> None:
        if self._closed:
            held.connection.close()
            self._open -= 1
            return
        held.returned = time.monotonic()
        self._idle.append(held)
        self._wake()

    def _lost(self, held: _Held, everyone: bool = True) -> None:
        held.connection.close()
        self._open -= 1
        if everyone:  # the database may have gone or restarted: the idle ones are likely broken too
            self._close_idle()
        self._wake()

    def _close_idle(self) -> None:
        for held in self._idle:
            held.connection.close()
        self._open -= len(self._idle)
        self._idle.clear()

    def _wake(self) -> None:
        for turn in self._waiting:
            if not turn.done():
                turn.set_result(None)
                return


async def _ready(connection: Any) -> None:
    """Wait, without blocking the event loop, until the connection's statement has its answer."""
    loop = asyncio.get_running_loop()
    while (state := connection.poll()) != POLL_OK:
        fd = connection.fileno()
        answered = loop.create_future()
        watch, unwatch = (
            (loop.add_reader, loop.remove_reader) if state == POLL_READ else (loop.add_writer, loop.remove_writer)
        )
        watch(fd, _settle, answered)
        try:
            await answered
        finally:
            unwatch(fd)


def _close_unused(opening: asyncio.Future[Any]) -> None:
    """Close a connection that opened after its reader gave up waiting for it."""
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()


def _settle(answered: asyncio.Future[None]) -> None:
    if not answered.done():
        answered.set_result(None)


def _wrapped(error: psycopg2.Error, statement: str) -> sqlalchemy.exc.DBAPIError:
    """Return a psycopg2 error as SQLAlchemy's, as the engine raises it (a lost connection: OperationalError)."""
    lost = isinstance(error, psycopg2.OperationalError | psycopg2.InterfaceError)
    wrapped: sqlalchemy.exc.DBAPIError = sqlalchemy.exc.DBAPIError.instance(
        statement, None, error, psycopg2.Error, connection_invalidated=lost
    )
    return wrapped
