"""A steady write load while PostgreSQL is stopped and started, and frozen and resumed: every event acknowledged is
stored, and every event stored was acknowledged (or answered as of unknown outcome, frozen during its COMMIT).

The server runs over a throwaway embedded PostgreSQL of its own, so that no other test meets the faults.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.api.client import call
from tests.conftest import TEST_TOKEN
from tests.outage import Database, throwaway_database
from tests.servers import RunningServer, start_server

pytestmark = [pytest.mark.faults, pytest.mark.slow]
WRITERS = 4
FAST = 3.0  # seconds within which every write is answered, whatever the database does


@dataclass
class Load:
    """Writers posting single events, each with a unique marker (its `user`), and what each was answered."""

    server: RunningServer
    customer: int
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    acknowledged: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)  # 503: the database froze during its COMMIT
    refused: int = 0  # 503: nothing was stored
    odd: list[tuple[int, bytes]] = field(default_factory=list)  # any other answer
    slowest: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, writer: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            marker = f"{self.run}-{writer}-{n}"
            body = {"type": "login", "data": {"user": marker}}
            started = time.monotonic()
            reply = call(
                self.server, "POST", f"/api/customers/{self.customer}/events", json_body=body, token=TEST_TOKEN
            )
            seconds = time.monotonic() - started
            with self._lock:
                self.slowest = max(self.slowest, seconds)
                if reply.status == 201:
                    self.acknowledged.add(marker)
                elif reply.status == 503 and b"unknown" in reply.body:
                    self.unknown.add(marker)
                elif reply.status == 503 and b"nothing was stored" in reply.body:
                    self.refused += 1
                    time.sleep(0.05)
                else:
                    self.odd.append((reply.status, reply.body[:300]))

    def during(self, fault: Callable[[], None]) -> None:
        """Write steadily before, during and after the fault, until writes are acknowledged again."""
        writers = [threading.Thread(target=self.write, args=(w,)) for w in range(WRITERS)]
        for thread in writers:
            thread.start()
        try:
            time.sleep(1.0)
            before = len(self.acknowledged)
            assert before > 0, "no write was acknowledged before the fault"
            fault()
            after = len(self.acknowledged)
            deadline = time.monotonic() + 15
            while len(self.acknowledged) < after + 2 * WRITERS:
                assert time.monotonic() < deadline, "writes were not acknowledged again after the fault"
                time.sleep(0.1)
        finally:
            self._stop.set()
            for thread in writers:
                thread.join(60)

    def stored(self, database: Database) -> set[str]:
        """Return the markers of this load's events in the database, once the server's writes have ended."""
        database.settled()
        engine = create_engine(database.url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT data ->> 'user' FROM events WHERE data ->> 'user' LIKE :run"), {"run": f"{self.run}-%"}
                )
                return {row[0] for row in rows}
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    with throwaway_database("hd-faults-") as made:
        yield made


@pytest.fixture(scope="module")
def load_server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with start_server(database.url, tmp_path_factory.mktemp("server"), TEST_TOKEN) as running:
        yield running


def check(load: Load, database: Database) -> None:
    stored = load.stored(database)
    assert not load.odd, f"answers other than 201 and 503: {load.odd[:5]}"
    # a write held when the fault came is refused (nothing stored) or, frozen during its COMMIT, answered as unknown
    assert load.refused or load.unknown, "no write met the fault"
    assert load.slowest < FAST, f"a write took {load.slowest:.2f} s"
    assert load.acknowledged <= stored, f"acknowledged but not stored: {sorted(load.acknowledged - stored)[:5]}"
    assert stored - load.acknowledged <= load.unknown, f"stored behind the client's back: {stored - load.acknowledged}"
    assert len(stored & load.unknown) + len(load.acknowledged) == len(stored)


def test_events_acknowledged_are_those_stored_when_the_database_is_stopped_and_started(
    load_server: RunningServer, database: Database
) -> None:
    load = Load(load_server, database.roster["ember"])

    def restart() -> None:
        database.stop()
        time.sleep(1.5)
        database.start()

    load.during(restart)
    check(load, database)


def test_events_acknowledged_are_those_stored_when_the_database_is_frozen_and_resumed(
    load_server: RunningServer, database: Database
) -> None:
    load = Load(load_server, database.roster["ember"])

    def freeze() -> None:
        frozen = database.freeze()
        try:
            time.sleep(4.0)  # longer than the deadline: writes held in the database are answered meanwhile
        finally:
            database.thaw(frozen)

    load.during(freeze)
    check(load, database)
