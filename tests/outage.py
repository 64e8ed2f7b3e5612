"""A throwaway embedded PostgreSQL that a test may stop, freeze and start again behind its server's back."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from healthdash.db.database import create_database, load_sample_data
from healthdash.db.embedded import EmbeddedPostgres
from healthdash.db.watchdog import process_start_time
from tests.api.roster import Roster, seed


@dataclass
class Database:
    postgres: EmbeddedPostgres
    url: str
    roster: Roster

    @property
    def postmaster_pid(self) -> int | None:
        try:
            pid = int((self.postgres.data_dir / "pgdata" / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None
        return pid if process_start_time(pid) is not None else None

    def stop(self) -> None:
        """Stop the postmaster as an administrator would (fast shutdown), behind the application's back."""
        pid = self.postmaster_pid
        assert pid is not None
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while process_start_time(pid) is not None:
            assert time.monotonic() < deadline, "PostgreSQL did not stop"
            time.sleep(0.05)

    def processes(self) -> list[int]:
        """Return the postmaster and its children (the backends and helpers)."""
        pid = self.postmaster_pid
        assert pid is not None
        children = []
        for entry in Path("/proc").iterdir():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) if entry.name.isdigit() else 0
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                children.append(int(entry.name))
        return [pid, *children]

    def freeze(self) -> list[int]:
        """Stop every process of the database with SIGSTOP: it hangs rather than refuses, as behind a broken network.
        Return the processes stopped (a child that ended meanwhile is left out)."""
        frozen = []
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                frozen.append(pid)
        return frozen

    @staticmethod
    def thaw(frozen: list[int]) -> None:
        """Resume what `freeze` stopped: the children first, the postmaster last, so that it reaps a child that had
        ended only after every other has been resumed; a child already gone has nothing to resume."""
        for pid in reversed(frozen):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def stored_with(self, marker: str) -> int:
        """Return how many stored events carry the marker in their data."""
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                found = conn.execute(text("SELECT count(*) FROM events WHERE data::text LIKE :m"), {"m": f"%{marker}%"})
                return int(found.scalar_one())
        finally:
            engine.dispose()

    def settled(self) -> None:
        """Wait until no transaction is writing events (each holds a lock on the table until it ends)."""
        engine = create_engine(self.url, poolclass=NullPool)
        writing = text(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE c.relname = 'events' AND l.mode = 'RowExclusiveLock'"
        )
        try:
            deadline = time.monotonic() + 30
            with engine.connect() as conn:
                while conn.execute(writing).scalar_one() > 0:
                    assert time.monotonic() < deadline, "the server's writes did not end"
                    time.sleep(0.1)
        finally:
            engine.dispose()

    def start(self) -> None:
        """Start it again on the same data."""
        self.postgres.release()  # the server is gone; this only forgets it
        self.postgres.start()


@contextlib.contextmanager
def throwaway_database(prefix: str) -> Iterator[Database]:
    """Yield a database with the sample data and the roster on a PostgreSQL of its own; remove it afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)  # the server account must reach the data dir below it
    postgres = EmbeddedPostgres(folder / "data", durable=False)
    postgres.start()
    try:
        create_database(postgres.url("postgres"), "healthdash")
        url = postgres.url("healthdash")
        load_sample_data(url)
        yield Database(postgres, url, seed(url))
    finally:
        postgres.release()
        shutil.rmtree(folder, ignore_errors=True)
