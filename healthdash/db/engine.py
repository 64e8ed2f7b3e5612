"""SQLAlchemy engines: a pooled engine that notices a lost database quickly and recovers without a restart."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine


def make_engine(url: str, *, pool_size: int = 8, connect_timeout: int = 2) -> Engine:
    """Create an engine with pre-ping, a short connect timeout and a bounded pool."""
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=connect_timeout + 1,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": connect_timeout,
            "application_name": "healthdash",
            # a statement stuck behind a lock must not hold a request forever
            "options": "-c statement_timeout=30000 -c TimeZone=UTC",
        },
    )
