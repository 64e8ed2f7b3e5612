"""A session holds its connections (one; two while scores() reads the profiles beside the signals), whatever and
however often a notebook asks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from healthdash.analysis import connect
from tests.analysis.conftest import query

CONNECTIONS = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"


def test_a_session_keeps_its_connections_however_often_it_is_called(fresh_db_url: str) -> None:
    session = connect(fresh_db_url)
    try:
        for _ in range(3):
            session.customers()
            session.scores()
            session.events([1, 2])
            session.activity(1)
            session.tickets()
            session.invoices()
            session.customer_breakdown(1)
        assert query(fresh_db_url, CONNECTIONS)[0][0] == 2  # kept, not one more per call
    finally:
        session.close()
    assert query(fresh_db_url, CONNECTIONS)[0][0] == 0


def test_a_database_url_that_is_not_postgresql_is_named() -> None:
    with pytest.raises(ValueError, match="database_url: must be a postgresql:// URL"):
        connect("mysql://someone@somewhere/db")


PROGRAM = """
import healthdash
from healthdash import analysis

frames = [healthdash.customers(), healthdash.events(1), healthdash.activity(1), healthdash.tickets(1),
          healthdash.invoices(1), healthdash.scores()]
print(*(len(frame) for frame in frames), len(analysis._sessions), flush=True)
"""


def test_the_package_functions_use_the_configured_database(sample_db_url: str, tmp_path: Path) -> None:
    """A kernel started with DATABASE_URL gets its data with no set-up, through one session."""
    environment = {**os.environ, "DATABASE_URL": sample_db_url, "HEALTHDASH_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=environment, capture_output=True, text=True, timeout=120, check=True
    )
    customers, events, days, tickets, invoices, scores, sessions = map(int, done.stdout.split())
    assert customers == scores == query(sample_db_url, "SELECT count(*) FROM customers")[0][0]
    assert events > days > 0 and invoices > 0 and tickets >= 0
    assert sessions == 1


def test_a_kernel_pointed_at_a_server_without_a_database_is_told_so(tmp_path: Path) -> None:
    """`make lab` with only HEALTHDASH_API_URL: no other database is read in the server's place."""
    environment = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    environment.update(HEALTHDASH_API_URL="http://127.0.0.1:9", HEALTHDASH_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run(
        [sys.executable, "-c", "import healthdash; healthdash.customers()"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "RuntimeError: healthdash.analysis reads a database, and HEALTHDASH_API_URL names a server" in done.stderr
    assert not (tmp_path / "data").exists(), "no embedded database was started"
