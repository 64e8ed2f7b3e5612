"""Many writers at once: every accepted event is stored exactly once, and the reads that follow show all of them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.api.client import factor, get, post_event
from tests.api.roster import Roster
from tests.servers import RunningServer

PRIVATE_DATABASE = True  # it records 200 events

WRITES = 200


def event_count(url: str, customer_id: int) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM events WHERE customer_id = :c"), {"c": customer_id}
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_200_concurrent_writes_for_one_customer_are_all_stored(
    server: RunningServer, roster: Roster, database_url: str
) -> None:
    customer = roster["ember"]
    before = event_count(database_url, customer)
    calls_before = factor(get(server, f"/api/customers/{customer}/health"), "api_usage")["raw"]["calls"]

    def write(n: int) -> tuple[int, int]:
        reply = post_event(server, customer, {"type": "api_call", "data": {"count": 1 + n % 3}})
        return reply.status, reply.json()["event"]["id"] if reply.status == 201 else -1

    with ThreadPoolExecutor(max_workers=WRITES) as pool:
        answers = list(pool.map(write, range(WRITES)))

    assert [status for status, _ in answers] == [201] * WRITES
    assert len({event_id for _, event_id in answers}) == WRITES
    assert event_count(database_url, customer) == before + WRITES
    health = get(server, f"/api/customers/{customer}/health")
    assert health["events"]["total"] == before + WRITES
    added = sum(1 + n % 3 for n in range(WRITES))
    assert factor(health, "api_usage")["raw"]["calls"] == calls_before + added  # the daily rollup counted every one
    (row,) = get(server, "/api/customers", q="ember hdtest")["customers"]
    assert row["score"] == health["score"]
