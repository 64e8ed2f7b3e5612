"""SQLAlchemy engines: a pooled engine that notices a lost database quickly and recovers without a restart."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

KEEPALIVE_SECONDS = 5  # idle seconds before TCP asks a silent database whether it is still there


def make_engine(
    url: str,
    *,
    pool_size: int = 8,
    connect_timeout: int = 2,
    statement_timeout: float = 30.0,
    autocommit: bool = False,
) -> Engine:
    """Create an engine with pre-ping, a short connect timeout and a bounded pool.

    With `autocommit`, its connections run each statement on its own for good (for reads): asking that of a
    transactional engine's connection instead switches its isolation level at every checkout and back at every
    return. Over TCP, keepalives and `tcp_user_timeout` make a connection to a database that vanished from the
    network fail within seconds instead of hanging; `statement_timeout` bounds a statement stuck in the database
    (behind a lock).
    """
    return create_engine(
        url,
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=connect_timeout + 1,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": connect_timeout,
            "application_name": "healthdash",
            "keepalives": 1,
            "keepalives_idle": KEEPALIVE_SECONDS,
            "keepalives_interval": 2,
            "keepalives_count": 3,
            "tcp_user_timeout": (KEEPALIVE_SECONDS + 6) * 1000,  # ms unacknowledged: the network is gone
            # a statement stuck behind a lock must not hold a request forever
            "options": f"-c statement_timeout={round(statement_timeout * 1000)} -c TimeZone=UTC",
        },
    )
