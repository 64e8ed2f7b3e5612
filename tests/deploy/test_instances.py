"""Several server processes on one database show the same truth, whichever instance took a write."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from healthdash.db.listener import listener_application_name
from tests.conftest import TEST_TOKEN
from tests.deploy.conftest import add_steady_customer
from tests.servers import RunningServer, start_server

pytestmark = pytest.mark.slow
SEEN_WITHIN = 1.0  # seconds from the write's response on A to the change on B


def listener_pid(db: Engine, server: RunningServer) -> int | None:
    """Return the backend pid of a server's listening connection, or None while it does not listen."""
    with db.connect() as conn:
        pid = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE application_name = :name AND query ILIKE 'LISTEN%' "
                "AND state = 'idle'"
            ),
            {"name": listener_application_name(pid=server.process.pid)},
        ).scalar()
    return None if pid is None else int(pid)


def wait_listening(db: Engine, server: RunningServer, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while (pid := listener_pid(db, server)) is None:
        assert time.monotonic() < deadline, f"{server.url} never listened:\n{server.log.read_text()[-2000:]}"
        time.sleep(0.02)
    return pid


def view(server: RunningServer, name: str) -> tuple[dict[str, Any], dict[str, int]]:
    """Return a customer's row in a server's list and the server's tier counts."""
    status, _, listed = server.get(f"/api/customers?q={name.replace(' ', '%20')}")
    assert status == 200, listed
    status, _, dashboard = server.get("/api/dashboard")
    assert status == 200, dashboard
    (row,) = [c for c in listed["customers"] if c["name"] == name]
    return row, dashboard["tiers"]


def open_urgent_tickets_until_the_tier_changes(server: RunningServer, customer_id: int) -> dict[str, Any]:
    """Open urgent tickets through a server until the customer's tier changes; return its health then."""
    for n in range(6):
        status, _, body = server.post_event(
            customer_id, {"type": "ticket_opened", "data": {"priority": "urgent", "subject": f"Outage {n}"}}
        )
        assert status == 201, body
        if body["health"]["tier"] != "healthy":
            health: dict[str, Any] = body["health"]
            return health
    raise AssertionError(f"customer {customer_id} stayed healthy after six urgent tickets: {body}")


def seconds_until(condition: Any, timeout: float) -> float:
    """Poll until the condition holds; return how long it took."""
    started = time.monotonic()
    while not condition():
        elapsed = time.monotonic() - started
        assert elapsed < timeout, f"not seen within {timeout} s"
        time.sleep(0.01)
    return time.monotonic() - started


def shows(server: RunningServer, name: str, health: dict[str, Any], tiers: dict[str, int]) -> bool:
    row, now = view(server, name)
    return bool(row["tier"] == health["tier"] and row["score"] == pytest.approx(health["score"], abs=0.05)) and (
        now == tiers
    )


def moved(tiers: dict[str, int], to: str) -> dict[str, int]:
    return {**tiers, "healthy": tiers["healthy"] - 1, to: tiers[to] + 1}


@pytest.fixture(scope="module")
def db_url(module_db_url: str) -> str:
    """The database both instances use (one per module: the servers outlive a test)."""
    return module_db_url


@pytest.fixture(scope="module")
def db(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def customers(db: Engine) -> dict[str, int]:
    """Customers that drop out of `healthy` with an urgent ticket, one for each test."""
    names = [f"Steady {tag} {uuid.uuid4().hex[:6]}" for tag in ("Alpha", "Beta", "Gamma")]
    with db.begin() as conn:
        return {name: add_steady_customer(conn, name) for name in names}


@pytest.fixture(scope="module")
def instances(
    db_url: str, customers: dict[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[RunningServer]]:
    """Two servers, A and B, on the same database (no page is opened: no kernels kept ready)."""
    no_kernels = {"HEALTHDASH_KERNEL_POOL_SIZE": "0"}
    with (
        start_server(db_url, tmp_path_factory.mktemp("a"), TEST_TOKEN, no_kernels) as a,
        start_server(db_url, tmp_path_factory.mktemp("b"), TEST_TOKEN, no_kernels) as b,
    ):
        yield [a, b]


def test_an_event_posted_to_one_instance_shows_on_the_other_within_a_second(
    db: Engine, customers: dict[str, int], instances: list[RunningServer]
) -> None:
    a, b = instances
    wait_listening(db, a)
    wait_listening(db, b)
    name, customer_id = next(iter(customers.items()))
    before, tiers = view(b, name)  # B has built and cached its scores
    assert before["tier"] == "healthy"

    health = open_urgent_tickets_until_the_tier_changes(a, customer_id)

    took = seconds_until(lambda: shows(b, name, health, moved(tiers, health["tier"])), SEEN_WITHIN)
    print(f"B showed the change {took * 1000:.0f} ms after A answered")


def test_an_instance_that_lost_its_listening_connection_does_not_serve_stale_scores(
    admin_url: str, db_url: str, db: Engine, customers: dict[str, int], instances: list[RunningServer]
) -> None:
    a, b = instances
    wait_listening(db, a)
    old_pid = wait_listening(db, b)
    name, customer_id = list(customers.items())[1]
    before, tiers = view(b, name)
    assert before["tier"] == "healthy"

    database = make_url(db_url).database
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            # B cannot reconnect for a while (as during a database restart), so A's notification is lost to it
            conn.execute(text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false'))
            try:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": old_pid})
                health = open_urgent_tickets_until_the_tier_changes(a, customer_id)
                time.sleep(0.3)
                assert view(b, name) == (before, tiers), "B heard of the write without a listening connection"
            finally:
                conn.execute(text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true'))
            allowed = time.monotonic()
    finally:
        admin.dispose()

    new_pid = wait_listening(db, b)
    assert new_pid != old_pid
    reconnected = time.monotonic() - allowed
    took = seconds_until(lambda: shows(b, name, health, moved(tiers, health["tier"])), SEEN_WITHIN)
    print(f"B listened again {reconnected:.2f} s after connections were allowed, showed the change {took:.3f} s later")


def test_a_health_kept_by_one_instance_shows_a_write_to_the_other_within_a_second(
    db: Engine, customers: dict[str, int], instances: list[RunningServer]
) -> None:
    a, b = instances
    wait_listening(db, a)
    wait_listening(db, b)
    customer_id = list(customers.values())[2]
    path = f"/api/customers/{customer_id}/health"
    status, _, before = b.get(path)
    assert status == 200 and b.get(path)[2] == before  # B keeps its answer (the same `as_of`)

    health = open_urgent_tickets_until_the_tier_changes(a, customer_id)

    def b_shows_it() -> bool:
        after = b.get(path)[2]
        return bool(after["tier"] == health["tier"] and len(after["tickets"]) > len(before["tickets"]))

    took = seconds_until(b_shows_it, SEEN_WITHIN)
    print(f"B's health showed the change {took * 1000:.0f} ms after A answered")
