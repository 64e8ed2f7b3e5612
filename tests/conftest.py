"""Shared fixtures: a real PostgreSQL (embedded, or TEST_DATABASE_URL), the sample data loaded once into a
template database, per-test copies for tests that write, and a real healthdash server over HTTP."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.db.database import create_database, load_sample_data
from healthdash.db.embedded import EmbeddedPostgres
from healthdash.scoring import ScoringConfig
from healthdash.service import HealthService
from healthdash.settings import normalise_database_url
from tests.servers import RunningServer, loopback_socket, start_server

TEST_TOKEN = "test-token-0123456789abcdef"

# Property tests must not fail because a busy machine is slow: no per-example deadline.
settings.register_profile("healthdash", deadline=None, max_examples=60)
settings.load_profile("healthdash")


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    """URL of a maintenance database on the test server: TEST_DATABASE_URL, or a throwaway embedded server.

    Override to point the whole suite at another server.
    """
    configured = os.environ.get("TEST_DATABASE_URL", "").strip()
    if configured:
        yield normalise_database_url(configured)
        return
    folder = Path(tempfile.mkdtemp(prefix="hd-test-", dir="/tmp"))
    folder.chmod(0o755)  # our own folder: the server account must reach the data dir below it
    server = EmbeddedPostgres(folder / "data", durable=False)
    server.start()
    try:
        yield server.url("postgres")
    finally:
        server.release()
        shutil.rmtree(folder, ignore_errors=True)


def _url_for(admin_url: str, database: str) -> str:
    engine = create_engine(admin_url, poolclass=NullPool)
    try:
        return engine.url.set(database=database).render_as_string(hide_password=False)
    finally:
        engine.dispose()


def add_customer(engine: Engine, name: str, created: str) -> int:
    """Insert a small customer written directly in the database (no event), created at an SQL time; return its id."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                text(
                    "INSERT INTO customers (name, segment, plan, seats, created_at) "
                    f"VALUES (:name, 'smb', 'starter', 5, {created}) RETURNING id"
                ),
                {"name": name},
            ).scalar_one()
        )


# The rollup as it should be: a recompute over the raw events (the oracle the trigger and the bulk load are held to).
ROLLUP_RECOMPUTE = """
    SELECT e.customer_id, (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
           count(*) FILTER (WHERE e.type = 'login') AS logins,
           coalesce(sum((e.data ->> 'count')::bigint) FILTER (WHERE e.type = 'api_call'), 0) AS api_calls,
           count(*) FILTER (WHERE e.type = 'feature_use') AS feature_uses,
           coalesce(bit_or((1::bigint) << f.bit) FILTER (WHERE e.type = 'feature_use'), 0) AS feature_mask
      FROM events e LEFT JOIN features f ON f.key = e.data ->> 'feature'
     WHERE e.type IN ('login', 'api_call', 'feature_use')
     GROUP BY 1, 2
"""
ROLLUP_STORED = "SELECT customer_id, day, logins, api_calls, feature_uses, feature_mask FROM customer_daily"


def rollup_differences(engine: Engine) -> int:
    """Count the rollup rows that differ from a recompute over the raw events (both ways)."""
    recompute, stored = ROLLUP_RECOMPUTE, ROLLUP_STORED
    query = f"SELECT count(*) FROM ((({recompute}) EXCEPT ({stored})) UNION ALL (({stored}) EXCEPT ({recompute}))) d"
    with engine.connect() as conn:
        return int(conn.execute(text(query)).scalar_one())


def drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def template_db(admin_url: str) -> Iterator[str]:
    """Name of a database holding db/init.sql, loaded once per session; tests copy it."""
    name = f"hd_template_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name)
    load_sample_data(_url_for(admin_url, name))
    yield name
    drop_database(admin_url, name)


@contextlib.contextmanager
def sample_copy(admin_url: str, template_db: str, prefix: str = "hd_test") -> Iterator[str]:
    """Yield the URL of a new copy of the sample data; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name, template=template_db)
    yield _url_for(admin_url, name)
    drop_database(admin_url, name)


@pytest.fixture(scope="session")
def sample_db_url(admin_url: str, template_db: str) -> Iterator[str]:
    """URL of a session-wide copy of the sample data, for tests that only read."""
    with sample_copy(admin_url, template_db, "hd_read") as url:
        yield url


@pytest.fixture
def fresh_db_url(admin_url: str, template_db: str) -> Iterator[str]:
    """URL of a private copy of the sample data, for a test that writes."""
    with sample_copy(admin_url, template_db) as url:
        yield url


@pytest.fixture(scope="module")
def module_db_url(admin_url: str, template_db: str) -> Iterator[str]:
    """URL of a copy of the sample data shared by one test module (for a module's server)."""
    name = f"hd_mod_{uuid.uuid4().hex[:8]}"
    create_database(admin_url, name, template=template_db)
    yield _url_for(admin_url, name)
    drop_database(admin_url, name)


@pytest.fixture
def service(fresh_db_url: str) -> Iterator[HealthService]:
    """A service over a throwaway copy of the sample data."""
    engine = create_engine(fresh_db_url, poolclass=NullPool)
    yield HealthService(engine, ScoringConfig())
    engine.dispose()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    """A small thread pool for a score board's database work."""
    with ThreadPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(scope="module")
def server(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A real healthdash server (web app and API) on a port of its own over a module-private database."""
    with start_server(module_db_url, tmp_path_factory.mktemp("server"), TEST_TOKEN) as running:
        yield running


@pytest.fixture
def unreachable_url() -> Iterator[str]:
    """The address of a loopback port this test holds and nothing listens on: every connection to it is refused."""
    with loopback_socket() as sock:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
