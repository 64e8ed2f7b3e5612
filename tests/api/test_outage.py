"""A database outage: requests fail fast with 503 and Retry-After, and the server recovers by itself.

The server runs over a throwaway embedded PostgreSQL of its own, whose postmaster the test stops and starts again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.api.client import Reply, call, get, post_event, problem
from tests.api.roster import at_noon
from tests.conftest import TEST_TOKEN
from tests.outage import Database, throwaway_database
from tests.servers import RunningServer, start_server

pytestmark = [pytest.mark.faults]
FAST = 3.0  # seconds within which a request must be answered while the database is away


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    with throwaway_database("hd-outage-") as made:
        yield made


@pytest.fixture(scope="module")
def outage_server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with start_server(database.url, tmp_path_factory.mktemp("server"), TEST_TOKEN) as running:
        yield running


def timed(server: RunningServer, method: str, path: str, **kwargs: object) -> tuple[Reply, float]:
    started = time.monotonic()
    reply = call(server, method, path, **kwargs)  # type: ignore[arg-type]
    return reply, time.monotonic() - started


def listening_again(server: RunningServer, timeout: float = 30.0) -> None:
    """Wait until the server's change listener listens again if it lost its connection (its log says so). It
    reconnects with backoff, up to 10 s apart, then drops the server's memory, since what was written meanwhile is
    unknown: a test that needs the memory warm waits for that first."""
    deadline = time.monotonic() + timeout
    while True:
        said = server.log.read_text(encoding="utf-8", errors="replace")
        if said.count("change listener: lost the connection") <= said.count("change listener: listening again"):
            break
        assert time.monotonic() < deadline, "the server's change listener did not listen again"
        time.sleep(0.1)
    time.sleep(0.5)  # its word that everything is unknown reaches the event loop


def test_requests_get_503_quickly_while_the_database_is_away_and_succeed_once_it_is_back(
    outage_server: RunningServer, database: Database
) -> None:
    customer = database.roster["ember"]
    login = {"type": "login"}
    assert get(outage_server, "/api/healthz") == {"status": "ok"}
    cached = get(outage_server, "/api/dashboard")

    database.stop()
    try:
        needs_the_database = [
            ("GET", "/api/healthz", {}),
            ("GET", f"/api/customers/{customer}/health", {}),
            ("POST", f"/api/customers/{customer}/events", {"json_body": login, "token": TEST_TOKEN}),
            ("GET", "/api/dashboard", {"params": {"as_of": at_noon(70).date().isoformat()}}),
            ("GET", "/api/customers", {"params": {"as_of": at_noon(71).date().isoformat()}}),
            ("GET", f"/api/customers/{customer}/events/1", {}),
        ]
        slowest = 0.0
        for method, path, kwargs in needs_the_database * 2:  # the second round meets a pool of dead connections
            reply, seconds = timed(outage_server, method, path, **kwargs)
            slowest = max(slowest, seconds)
            document = problem(reply, 503)
            assert reply.headers["Retry-After"].isdigit()
            assert "database" in document["detail"]
        assert slowest < FAST, f"a request took {slowest:.2f} s"

        reply, seconds = timed(outage_server, "GET", "/api/dashboard")
        assert seconds < FAST
        assert reply.status in (200, 503)  # the current table may still be served from memory
        if reply.status == 200:
            assert reply.json() == cached
        assert get(outage_server, "/api/openapi.json")["openapi"].startswith("3.1")  # it needs no database
    finally:
        database.start()

    assert get(outage_server, "/api/healthz") == {"status": "ok"}  # the very next request succeeds
    reply = post_event(outage_server, customer, login)
    assert reply.status == 201, reply.body
    health = get(outage_server, f"/api/customers/{customer}/health")
    assert health["events"]["items"][0]["id"] == reply.json()["event"]["id"]
    assert get(outage_server, "/api/dashboard", as_of=at_noon(70).date().isoformat())["customer_count"] > 0
    assert outage_server.process.poll() is None  # the same server process all along


def test_the_health_check_answers_503_quickly_when_the_database_hangs(
    outage_server: RunningServer, database: Database
) -> None:
    assert get(outage_server, "/api/healthz") == {"status": "ok"}  # a pooled connection is now open
    frozen = database.freeze()
    try:
        reply, seconds = timed(outage_server, "GET", "/api/healthz")
        assert seconds < FAST, f"the health check took {seconds:.2f} s"
        problem(reply, 503)
        assert reply.headers["Retry-After"].isdigit()
    finally:
        database.thaw(frozen)
    deadline = time.monotonic() + 10
    while call(outage_server, "GET", "/api/healthz").status != 200:
        assert time.monotonic() < deadline, "the server did not recover once the database answered again"
        time.sleep(0.1)


def test_a_frozen_database_is_answered_503_within_the_deadline_and_cached_routes_keep_answering(
    outage_server: RunningServer, database: Database
) -> None:
    customer = database.roster["ember"]
    listening_again(outage_server)  # after a restart above the server drops its memory once it listens again
    for path in ("/api/dashboard", "/api/customers", f"/api/customers/{customer}/health"):
        get(outage_server, path)  # warm: the current table in memory, pooled connections open
    frozen = database.freeze()
    try:
        past = at_noon(90).date().isoformat()  # an answer for now may be kept in memory; one for a past day is not
        reads = [f"/api/customers/{customer}/health?as_of={past}", f"/api/customers?as_of={past}"] * 8
        with ThreadPoolExecutor(len(reads)) as clients:  # more than the server's database threads
            answers = list(clients.map(lambda path: timed(outage_server, "GET", path), reads))
        for reply, seconds in answers:
            assert seconds < FAST, f"a read took {seconds:.2f} s with the database frozen"
            assert "database" in problem(reply, 503)["detail"]
            assert reply.headers["Retry-After"].isdigit()
        for path in ("/api/dashboard", "/api/customers?tier=critical", "/api/scores"):  # need no database
            reply, seconds = timed(outage_server, "GET", path)
            assert reply.status == 200 and seconds < FAST, (path, reply.status, seconds)
    finally:
        database.thaw(frozen)
    deadline = time.monotonic() + 30
    while call(outage_server, "GET", f"/api/customers/{customer}/health").status != 200:
        assert time.monotonic() < deadline, "the server did not recover once the database answered again"
        time.sleep(0.2)


def test_writes_to_a_frozen_database_are_answered_503_quickly_and_never_stored_behind_the_clients_back(
    outage_server: RunningServer, database: Database
) -> None:
    customer = database.roster["ember"]
    marker = uuid.uuid4().hex
    writes: list[tuple[str, object, dict[str, str]]] = [
        (f"/api/customers/{customer}/events", {"type": "login", "data": {"user": f"{marker}-login"}}, {}),
        (
            f"/api/customers/{customer}/events",
            {"type": "ticket_opened", "data": {"priority": "low", "subject": f"{marker}-ticket"}},
            {},
        ),
        (
            "/api/events/batch",
            {
                "events": [
                    {"customer_id": customer, "type": "login", "data": {"user": f"{marker}-batch-{i}"}}
                    for i in range(3)
                ]
            },
            {"Idempotency-Key": marker},
        ),
    ]
    assert post_event(outage_server, customer, {"type": "login"}).status == 201  # pooled connections are open
    frozen = database.freeze()
    try:
        with ThreadPoolExecutor(len(writes) * 2) as clients:  # each write twice: one meets a thread already stuck
            answers = list(
                clients.map(
                    lambda w: timed(outage_server, "POST", w[0], json_body=w[1], token=TEST_TOKEN, headers=w[2]),
                    writes * 2,
                )
            )
    finally:
        database.thaw(frozen)
    for reply, seconds in answers:
        assert seconds < FAST, f"a write took {seconds:.2f} s with the database frozen"
        detail = problem(reply, 503)["detail"]
        assert "nothing was stored" in detail, detail  # frozen before they were sent: none reached COMMIT
        assert reply.headers["Retry-After"].isdigit()

    deadline = time.monotonic() + 30
    while call(outage_server, "GET", "/api/healthz").status != 200:
        assert time.monotonic() < deadline, "the server did not recover once the database answered again"
        time.sleep(0.1)
    database.settled()  # the writes held up by the freeze have run on: they must have rolled back
    assert database.stored_with(marker) == 0

    for path, body, headers in writes:  # sent again, they are stored once each
        reply = call(outage_server, "POST", path, json_body=body, token=TEST_TOKEN, headers=headers)
        assert reply.status == 201, reply.body[:500]
    assert database.stored_with(marker) == 5
