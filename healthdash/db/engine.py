"""SQLAlchemy engines: a pooled engine that notices a lost database quickly and recovers without a restart."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import psycopg2
from sqlalchemy import Engine, create_engine, event, exc, make_url

KEEPALIVE_SECONDS = 5  # idle seconds before TCP asks a silent database whether it is still there
PING_IDLE_SECONDS = 1.0  # a connection idle in the pool for longer is asked whether it still works before use


def make_engine(
    url: str,
    *,
    pool_size: int = 8,
    connect_timeout: int = 2,
    statement_timeout: float = 30.0,
    autocommit: bool = False,
    generic_plans: bool = False,
) -> Engine:
    """Create an engine with a short connect timeout, a bounded pool, and a ping before a connection that lay idle
    is used (see `ping_idle`).

    With `autocommit`, its connections run each statement on its own for good (for reads): asking that of a
    transactional engine's connection instead switches its isolation level at every checkout and back at every
    return. Over TCP, keepalives and `tcp_user_timeout` make a connection to a database that vanished from the
    network fail within seconds instead of hanging; `statement_timeout` bounds a statement stuck in the database
    (behind a lock).

    With `generic_plans`, a prepared statement runs with the plan made for any values of its parameters from its first
    execution on (`plan_cache_mode`), instead of being planned afresh for each of its first five executions on every
    connection: for statements about one customer at a time (the reads), whose plan does not depend on which one. The
    evidence's planning took 0.5 ms of each such execution; a pool of connections opened by a burst of requests
    repaid it dozens of times.
    """
    engine = create_engine(
        url,
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=connect_timeout + 1,
        pool_recycle=1800,
        connect_args=connect_arguments(connect_timeout, statement_timeout, generic_plans),
    )
    ping_idle(engine)
    return engine


def connect_arguments(connect_timeout: int, statement_timeout: float, generic_plans: bool) -> dict[str, Any]:
    """Return psycopg2's arguments for a connection of `make_engine` (see there) besides the URL's."""
    options = f"-c statement_timeout={round(statement_timeout * 1000)} -c TimeZone=UTC"
    if generic_plans:
        options += " -c plan_cache_mode=force_generic_plan"
    return {
        "connect_timeout": connect_timeout,
        "application_name": "healthdash",
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_SECONDS,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": (KEEPALIVE_SECONDS + 6) * 1000,  # ms unacknowledged: the network is gone
        # a statement stuck behind a lock must not hold a request forever
        "options": options,
    }


def async_connector(url: str, *, connect_timeout: int = 2, statement_timeout: float = 30.0) -> Callable[[], Any]:
    """Return what opens an asynchronous psycopg2 connection (`async_=True`, autocommit) to the URL's database, set
    up as the reads' engine sets its connections up (generic plans); opening it may block (a name lookup)."""
    parsed = make_url(url)
    args, kwargs = parsed.get_dialect()().create_connect_args(parsed)
    kwargs.update(connect_arguments(connect_timeout, statement_timeout, generic_plans=True))
    return functools.partial(psycopg2.connect, *args, **kwargs, async_=True)


def ping_idle(engine: Engine, idle: float = PING_IDLE_SECONDS) -> None:
    """Ask a pooled connection whether the database still answers before it is used, if it lay idle for longer than
    `idle` seconds; one that fails is replaced by a new connection.

    A ping at every checkout (SQLAlchemy's pre-ping) costs a round trip per request, a fifth of a fast read: a
    connection in steady use was just seen working. One in use when the database goes away fails its request, and
    that error has the pool replace every connection opened before it.
    """

    @event.listens_for(engine, "checkin")
    def returned(dbapi_connection: Any, record: Any) -> None:
        record.info["returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def taken(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        last_used = record.info.get("returned")
        if last_used is None or time.monotonic() - last_used <= idle:
            return  # new, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(str(error).strip()) from error
