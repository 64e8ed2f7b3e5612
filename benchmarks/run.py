"""Run the benchmark: per scale, the data set, the in-process measurements, then the server under load."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import math
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from benchmarks import load, machine
from benchmarks.naive import agreement, naive_dashboard
from benchmarks.report import (
    ANALYSIS_EVENTS_HUNDRED,
    ANALYSIS_EVENTS_ONE,
    ANALYSIS_SCORES,
    BATCH,
    CHANGES_READ,
    CRM_SYNC,
    CUSTOMERS,
    CUSTOMERS_MIXED,
    DASHBOARD,
    DASHBOARD_PERSON,
    DASHBOARD_SESSION,
    HEALTH,
    HEALTH_BUSY,
    HISTORY_BACKFILL,
    HISTORY_BACKFILL_EARLIER,
    HISTORY_BACKFILL_ESTIMATED,
    HISTORY_DAY,
    HISTORY_READ,
    HISTORY_RESTATED,
    POST,
    POST_BUSY,
    READS_QUIET,
    READS_WRITING,
    Endpoint,
    ScaleResult,
)
from healthdash.access import SESSION_COOKIE, Authenticator, People
from healthdash.analysis import connect
from healthdash.board import ScoreBoard
from healthdash.clock import utc_now
from healthdash.score_history import HistoryRecorder
from healthdash.score_history.backfill import backfill
from healthdash.scoring import ScoringConfig
from healthdash.service import HealthService
from healthdash.settings import load_settings
from tests.people import person_token, session_secret
from tests.servers import PREHEATED, RunningServer, start_server

PHASE_SECONDS = 10.0
NAIVE_BUDGET_SECONDS = 60.0
BATCH_SIZE = 10_000
IMPORT_ROWS = {"S": 100_000, "M": 300_000, "L": 1_000_000}  # events in the file `python -m healthdash import` loads
CRM_PREFIX = "crm-"  # the benchmark's customers are known to the CRM as crm-<id>
FEATURES = ("dashboards", "reports", "alerts", "integrations", "exports", "comments")
Say = Callable[[str], None]


# --- requests (pure) ----------------------------------------------------------------------------------------------


def list_queries(names: Sequence[str], count: int, seed: int = 1) -> list[str]:
    """Return distinct customer-list paths: every sort and order, filters, name searches and pages."""
    rng = random.Random(seed)
    filters = [{}, {"tier": "at_risk"}, {"tier": "critical"}, {"segment": "smb"}, {"plan": "growth"}]
    filters += [{"segment": "enterprise", "tier": "healthy"}]
    seen: set[str] = set()
    paths: list[str] = []
    while len(paths) < count and len(seen) < count * 20:
        params: dict[str, Any] = dict(rng.choice(filters))
        params.update(sort=rng.choice(("score", "name", "trend")), order=rng.choice(("asc", "desc")), limit=50)
        if names and rng.random() < 0.3:
            name = rng.choice(names)
            start = rng.randrange(max(len(name) - 3, 1))
            params["q"] = name[start : start + 3 + rng.randrange(3)]
        else:
            params["offset"] = 50 * rng.randrange(40)
        path = "/api/customers?" + urllib.parse.urlencode(params)
        if path not in seen:
            seen.add(path)
            paths.append(path)
    return paths


def event_body(rng: random.Random, customers: int, with_customer: bool = False) -> dict[str, Any]:
    """Return a random activity event (login, API calls or feature use) for a random customer."""
    kind = rng.random()
    if kind < 0.4:
        body: dict[str, Any] = {"type": "login", "data": {"user": f"bench.{rng.randrange(20)}"}}
    elif kind < 0.7:
        body = {"type": "api_call", "data": {"count": rng.randrange(1, 500)}}
    else:
        body = {"type": "feature_use", "data": {"feature": rng.choice(FEATURES)}}
    if with_customer:
        body["customer_id"] = rng.randrange(1, customers + 1)
    return body


def event_requests(customers: int, token: str, count: int, seed: int = 2) -> list[load.Request]:
    """Return single-event POSTs for random customers."""
    rng = random.Random(seed)
    headers = (("Authorization", f"Bearer {token}"), ("Content-Type", "application/json"))
    return [
        load.Request(
            "POST",
            f"/api/customers/{rng.randrange(1, customers + 1)}/events",
            json.dumps(event_body(rng, customers)).encode(),
            headers,
        )
        for _ in range(count)
    ]


def batch_body(customers: int, size: int, seed: int) -> bytes:
    """Return a batch of random activity events for random customers, encoded."""
    rng = random.Random(seed)
    return json.dumps({"events": [event_body(rng, customers, with_customer=True) for _ in range(size)]}).encode()


def crm_requests(customers: int, token: str, count: int, seed: int = 5) -> list[load.Request]:
    """Return PUTs by CRM id of random customers, as a CRM's sync sends them: the whole profile, a new ARR."""
    rng = random.Random(seed)
    headers = (("Authorization", f"Bearer {token}"), ("Content-Type", "application/json"))
    requests = []
    for _ in range(count):
        customer = rng.randrange(1, customers + 1)
        body = {"arr": rng.randrange(1_000, 500_000), "seats": rng.randrange(1, 500), "region": "emea"}
        path = f"/api/customers/external/{CRM_PREFIX}{customer}"
        requests.append(load.Request("PUT", path, json.dumps(body).encode(), headers))
    return requests


# --- in-process measurements ----------------------------------------------------------------------------------------


def customer_count(url: str) -> int:
    """Count a data set's customers."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM customers")).scalar_one())
    finally:
        engine.dispose()


def dataset_sizes(engine: Engine) -> dict[str, int]:
    """Count what a data set holds."""
    with engine.connect() as conn:
        sizes = {
            name: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
            for name, table in (
                ("customers", "customers"),
                ("events", "events"),
                ("rollup_rows", "customer_daily"),
                ("tickets", "tickets"),
                ("invoices", "invoices"),
            )
        }
        sizes["database_bytes"] = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    return sizes


def measure_rescore(engine: Engine, say: Say) -> dict[str, float]:
    """Time the score board's full builds in this process: cold, periodic, on a new day, with a new configuration."""
    now = utc_now()
    times: dict[str, float] = {}

    async def scenario() -> None:
        with ThreadPoolExecutor(2) as executor:
            service = HealthService(engine, ScoringConfig())
            clock = [now]
            board = ScoreBoard(service, executor, max_age=3600, clock=lambda: clock[0])
            for label, step in (
                ("first build (usage read into memory)", board.current),
                ("periodic rebuild", board.rebuild),
            ):
                began = time.perf_counter()
                await step()
                times[label] = time.perf_counter() - began
            clock[0] = now + dt.timedelta(days=1)
            began = time.perf_counter()
            await board.rebuild()
            times["day rollover"] = time.perf_counter() - began
            service.config = ScoringConfig.from_mapping({"weights": {"login_frequency": 30.0}, "healthy_min": 72.0})
            began = time.perf_counter()
            await board.rebuild()
            times["configuration change"] = time.perf_counter() - began

    asyncio.run(scenario())
    began = time.perf_counter()
    HealthService(engine, ScoringConfig()).scores(now)
    times["all in SQL (rollup aggregated by the query)"] = time.perf_counter() - began
    say("  rescore: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()))
    return times


def measure_analysis(url: str, say: Say, repeats: int = 5, seed: int = 3) -> dict[str, float]:
    """Time what an analyst's notebook asks most: every score, and raw events of one or 100 customers' 90 days."""
    session = connect(url)  # as an analyst opens one: its two connections read the profiles beside the scores
    try:
        ids = session.customers().index.to_numpy()
        rng = random.Random(seed)

        def median_seconds(call: Callable[[], object]) -> float:
            call()  # the first call opens the connection and warms the caches, as a notebook's first cell does
            times = []
            for _ in range(repeats):
                began = time.perf_counter()
                call()
                times.append(time.perf_counter() - began)
            return statistics.median(times)

        times = {
            ANALYSIS_SCORES: median_seconds(session.scores),
            ANALYSIS_EVENTS_ONE: median_seconds(lambda: session.events(int(rng.choice(ids)))),
            ANALYSIS_EVENTS_HUNDRED: median_seconds(
                lambda: session.events([int(i) for i in rng.sample(list(ids), min(100, len(ids)))])
            ),
        }
    finally:
        session.close()
    say("  analysis: " + ", ".join(f"{k} {v * 1000:,.0f} ms" for k, v in times.items()))
    return times


def measure_naive(engine: Engine, result: ScaleResult, say: Say, budget: float = NAIVE_BUDGET_SECONDS) -> None:
    """Time the naive dashboard (within a budget) and check its scores against healthdash's."""
    now = utc_now()
    run = naive_dashboard(engine, now, ScoringConfig(), budget=budget)
    ours = HealthService(engine, ScoringConfig()).score_frame(now)
    result.naive_seconds = run.seconds_for_all
    result.naive_extrapolated = run.customers < run.total
    result.naive_agreement = agreement(run.scores, ours) if len(run.scores) else (0, 0)
    say(f"  naive: {run.customers:,} of {run.total:,} customers in {run.seconds:.1f} s")


# --- the server ---------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def running_server(url: str, folder: Path) -> Iterator[RunningServer]:
    """Start the server over the database as deployed (a kernel per page preheated); yield it once it is idle."""
    with start_server(url, folder, secrets.token_urlsafe(24), extra_env=PREHEATED, timeout=120) as server:
        settle(server.process.pid)
        yield server


def settle(pid: int, quiet: float = 0.1, longest: float = 120.0) -> float:
    """Wait until a process and its children (the kernels it preheats) use less than `quiet` of a core."""
    began = time.monotonic()
    while time.monotonic() - began < longest:
        family = [pid, *machine.descendants(pid)]
        before = sum(machine.cpu_seconds(p) for p in family)
        time.sleep(1.0)
        if sum(machine.cpu_seconds(p) for p in family) - before < quiet:
            break
    return time.monotonic() - began


class Meter:
    """Measure how busy the server process and the database's backends were during a phase."""

    def __init__(self, server_pid: int, engine: Engine) -> None:
        self.server_pid = server_pid
        self.engine = engine
        self.server = self.database = math.nan

    def _database(self) -> float:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
            pids = [int(row[0]) for row in rows]
        return sum(machine.cpu_seconds(pid) for pid in pids)

    def __enter__(self) -> Meter:
        self.started = time.monotonic()
        self.server_before = machine.cpu_seconds(self.server_pid)
        self.database_before = self._database()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = max(time.monotonic() - self.started, 1e-9)
        self.server = (machine.cpu_seconds(self.server_pid) - self.server_before) / wall
        self.database = (self._database() - self.database_before) / wall

    def endpoint(self, label: str, result: load.LoadResult) -> Endpoint:
        """Return an endpoint's measurements with how busy things were."""
        return Endpoint(
            label,
            result.p(50),
            result.p(95),
            result.throughput,
            result.requests,
            result.failures,
            self.server,
            self.database,
        )


class Client:
    """One keep-alive connection to the server, for requests whose answers matter."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.auth = (("Authorization", f"Bearer {token}"), ("Content-Type", "application/json"))

    async def __aenter__(self) -> Client:
        await self._connect()
        return self

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(load.LOOPBACK, self.port)

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()

    async def get(self, path: str) -> Any:
        status, body = await self.send(load.Request("GET", path, headers=self.auth[:1]))
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body!r:.300}")
        return body

    async def post(self, path: str, payload: Any, extra: tuple[tuple[str, str], ...] = ()) -> Any:
        status, body = await self.send(load.Request("POST", path, json.dumps(payload).encode(), self.auth + extra))
        if status != 201:
            raise RuntimeError(f"POST {path} answered {status}: {body!r:.300}")
        return body

    async def send(self, request: load.Request) -> tuple[int, Any]:
        try:
            self.writer.write(request.encode())
            status, _, raw = await load.read_full_response(self.reader)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                raise
            # the server closes a connection left idle between phases (HEALTHDASH_IDLE_TIMEOUT) before reading
            # anything more from it: the request was never seen, so it is sent again on a new connection
            self.writer.close()
            await self._connect()
            self.writer.write(request.encode())
            status, _, raw = await load.read_full_response(self.reader)
        return status, json.loads(raw) if raw else None


async def authentication_in_process(database_url: str, session: str, calls: int = 20_000) -> str:
    """Time the authenticator alone on a session, as the server runs it for every request (its answers kept a few
    seconds, a lookup in the thread pool when they expire); return the note that says what it costs."""
    engine = create_engine(database_url, poolclass=NullPool)
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1) as pool:

        async def run(fn: Callable[..., Any], *args: Any) -> Any:
            return await loop.run_in_executor(pool, fn, *args)

        access = Authenticator(People(engine), run)
        credentials = access.credentials({}, session, "127.0.0.1")
        assert await access.identify(credentials) is not None, "the session is not known"
        times = []
        for _ in range(calls):
            began = time.perf_counter_ns()
            await access.identify(credentials)
            times.append(time.perf_counter_ns() - began)
    engine.dispose()
    times.sort()
    p50, p99 = times[len(times) // 2] / 1000, times[len(times) * 99 // 100] / 1000
    kept = f"{access.cache_seconds:.0f} s"
    return f"authentication alone, in process (a session, answers kept {kept}): p50 {p50:.1f} µs, p99 {p99:.1f} µs"


async def measure_server(
    server: RunningServer,
    engine: Engine,
    meter: Callable[[], Meter],
    result: ScaleResult,
    say: Say,
    seconds: float = PHASE_SECONDS,
) -> None:
    """Measure every endpoint, the ingestion and the freshness against a running server."""
    customers = result.sizes["customers"]
    batch_size = min(BATCH_SIZE, max(100, customers * 10))
    rng = random.Random(7)
    async with Client(server.port, server.token) as client:
        began = time.perf_counter()
        await client.get("/api/dashboard")
        result.notes.append(
            f"first dashboard after the server started (a cold build): {time.perf_counter() - began:.2f} s"
        )
        page = await client.get("/api/customers?limit=500")
        names = [c["name"] for c in page["customers"]]

        with meter() as m:
            dashboard = load.Request("GET", "/api/dashboard", headers=load.bearer(server.token))
            run = await load.run_requests(server.port, [dashboard], seconds, 4)
        result.endpoints.append(m.endpoint(DASHBOARD, run))
        say(f"  {DASHBOARD}: p50 {run.p(50):.2f} ms, {run.throughput:,.0f}/s")
        # a person's token is looked up in the database once, then kept a few seconds: what does that cost?
        as_person = load.Request(
            "GET", "/api/dashboard", headers=load.bearer(person_token(server.database_url, "viewer"))
        )
        with meter() as m:
            run = await load.run_requests(server.port, [as_person], seconds, 4)
        result.endpoints.append(m.endpoint(DASHBOARD_PERSON, run))
        say(f"  {DASHBOARD_PERSON}: p50 {run.p(50):.2f} ms")
        # and a browser's session (what the pages send), looked up the same way
        cookie = (("Cookie", f"{SESSION_COOKIE}={session_secret(server.database_url, 'viewer')}"),)
        with meter() as m:
            run = await load.run_requests(server.port, [load.Request("GET", "/api/dashboard", headers=cookie)],
                                          seconds, 4)  # fmt: skip
        result.endpoints.append(m.endpoint(DASHBOARD_SESSION, run))
        say(f"  {DASHBOARD_SESSION}: p50 {run.p(50):.2f} ms")
        result.notes.append(await authentication_in_process(server.database_url, cookie[0][1].split("=", 1)[1]))

        paths = list_queries(names, int(30 * seconds))
        auth = load.bearer(server.token)
        with meter() as m:
            fresh = await load.run_async(server.port, lambda n: load.Request("GET", paths[n], headers=auth), 1, 120,
                                         len(paths))  # fmt: skip
        result.endpoints.append(m.endpoint(CUSTOMERS, fresh))
        say(f"  {CUSTOMERS}: p50 {fresh.p(50):.2f} ms")
        with meter() as m:
            run = await load.run_requests(
                server.port, [load.Request("GET", p, headers=auth) for p in paths], seconds, 2
            )
        result.endpoints.append(m.endpoint(CUSTOMERS_MIXED, run))

        health = [
            load.Request("GET", f"/api/customers/{rng.randrange(1, customers + 1)}/health", headers=auth)
            for _ in range(3000)
        ]
        for connections, label in ((2, HEALTH), (8, HEALTH_BUSY)):
            with meter() as m:
                run = await load.run_requests(server.port, health, seconds, connections)
            result.endpoints.append(m.endpoint(label, run))
            say(f"  {label}: p50 {run.p(50):.2f} ms, {run.throughput:,.0f}/s")

        posts = event_requests(customers, server.token, 5000)
        for connections, label in ((2, POST), (16, POST_BUSY)):  # latency with few writers, throughput with many
            with meter() as m:
                run = await load.run_requests(server.port, posts, seconds, connections)
            result.endpoints.append(m.endpoint(label, run))
            rate = (run.requests - run.failures) / run.seconds
            result.single_events_per_second = rate  # the last, busiest phase shows what is sustained
            say(f"  {label}: p50 {run.p(50):.2f} ms, {rate:,.0f} events/s")

        bodies = [batch_body(customers, batch_size, seed) for seed in range(4)]
        headers = client.auth

        def batch(n: int) -> load.Request:
            return load.Request("POST", "/api/events/batch", bodies[n % len(bodies)], headers)

        with meter() as m:
            run = await load.run_async(server.port, batch, 3, seconds)
        result.endpoints.append(m.endpoint(BATCH, run))
        result.batch_events_per_second = (run.requests - run.failures) * batch_size / run.seconds
        say(f"  {BATCH}: {result.batch_events_per_second:,.0f} events/s")

        await measure_crm_sync(server, engine, meter, result, say, seconds)

        await measure_freshness(client, server, customers, meter, result, say, seconds)
        await measure_history(client, customers, meter, result, say, seconds)
        await measure_reads_while_writing_a_day(client, engine, result, say, seconds)


async def measure_crm_sync(
    server: RunningServer,
    engine: Engine,
    meter: Callable[[], Meter],
    result: ScaleResult,
    say: Say,
    seconds: float = PHASE_SECONDS,
) -> None:
    """Time a CRM's sync: PUT /api/customers/external/{id} of existing customers, each with a new ARR and seats
    (target: p50 <= 15 ms); the profiles it changed are put back afterwards, so that the data set stays as it was."""
    customers = result.sizes["customers"]
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT id, arr, seats, region FROM customers")).all()
    try:
        with meter() as m:
            run = await load.run_requests(server.port, crm_requests(customers, server.token, 5000), seconds, 2)
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE customers c SET arr = k.arr, seats = k.seats, region = k.region "
                     "FROM unnest(CAST(:ids AS bigint[]), CAST(:arr AS numeric[]), CAST(:seats AS int[]), "
                     "CAST(:region AS text[])) AS k(id, arr, seats, region) "
                     "WHERE c.id = k.id AND (c.arr, c.seats, c.region) IS DISTINCT FROM (k.arr, k.seats, k.region)"),
                {"ids": [r.id for r in kept], "arr": [r.arr for r in kept], "seats": [r.seats for r in kept],
                 "region": [r.region for r in kept]},
            )  # fmt: skip
    result.endpoints.append(m.endpoint(CRM_SYNC, run))
    say(f"  {CRM_SYNC}: p50 {run.p(50):.2f} ms, {run.throughput:,.0f}/s")


def known_to_the_crm(engine: Engine) -> None:
    """Give every customer without a CRM id one (crm-<id>), as a data set synced from a CRM has: once per data set."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE customers SET external_id = :prefix || id WHERE external_id IS NULL"), {"prefix": CRM_PREFIX}
        )


async def measure_freshness(
    client: Client,
    server: RunningServer,
    customers: int,
    meter: Callable[[], Meter],
    result: ScaleResult,
    say: Say,
    seconds: float = PHASE_SECONDS,
) -> None:
    """While ~1,000 events/s arrive, time how soon one more event shows in the health, the list and the dashboard."""
    stop = asyncio.Event()
    sent = [0]

    async def background() -> None:
        rng = random.Random(11)
        async with Client(server.port, server.token) as writer:
            next_at = time.monotonic()
            while not stop.is_set():
                events = [event_body(rng, customers, with_customer=True) for _ in range(50)]
                await writer.post("/api/events/batch", {"events": events})
                sent[0] += len(events)
                next_at += 0.05
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    writing = asyncio.create_task(background())
    started = time.monotonic()
    try:
        await asyncio.sleep(seconds)  # what earlier phases wrote is patched in meanwhile: probe the steady state
        probes = await _probes(client)
        for (customer, name, day), how in zip(probes, ("a single event", "a batch"), strict=False):
            await _probe(client, customer, name, day, how, result)
        samples = []
        with meter() as m:
            for _ in range(int(30 * seconds)):
                began = time.perf_counter()
                await client.get("/api/dashboard")
                samples.append((time.perf_counter() - began) * 1000)
                await asyncio.sleep(0.005)
        run = load.LoadResult(len(samples), sum(samples) / 1000, latencies=samples)
        label = "GET /api/dashboard while ~1,000 events/s arrive (one client)"
        result.endpoints.append(m.endpoint(label, run))
    finally:
        stop.set()
        await writing
    rate = sent[0] / (time.monotonic() - started)
    result.notes.append(f"background writes during the freshness probes: {rate:,.0f} events/s in batches of 50")
    say(f"  freshness: {', '.join(f'{k} {v * 1000:.0f} ms' for k, v in result.freshness.items())}")


async def measure_history(
    client: Client,
    customers: int,
    meter: Callable[[], Meter],
    result: ScaleResult,
    say: Say,
    seconds: float = PHASE_SECONDS,
) -> None:
    """Time a customer's 180 days of history and its changes (each customer new), and how soon a back-dated event
    shows in the history."""
    rng = random.Random(13)
    yesterday = utc_now().date() - dt.timedelta(days=1)
    since = (yesterday - dt.timedelta(days=179)).isoformat()
    for label, path in (
        (HISTORY_READ, f"/history?from={since}&to={yesterday.isoformat()}"),
        (CHANGES_READ, "/changes"),
    ):
        count = int(20 * seconds)
        requests = [
            load.Request("GET", f"/api/customers/{c}{path}", headers=client.auth[:1])
            for c in rng.sample(range(1, customers + 1), min(count, customers))
        ]
        with meter() as m:
            run = await load.run_async(client.port, requests.__getitem__, 1, 120, len(requests))
        result.endpoints.append(m.endpoint(label, run))
        say(f"  {label}: p50 {run.p(50):.2f} ms")
    probes = await _probes(client)
    if not probes:
        result.notes.append("score history: no customer found to restate (none at risk with a day without logins)")
        return
    customer, _, day = probes[0]
    path = f"/api/customers/{customer}/history?from={day.isoformat()}&to={day.isoformat()}"

    def score(answer: Any) -> Any:
        return answer["days"][0]["score"] if answer["days"] else None

    before = score(await client.get(path))
    event = {"type": "login", "occurred_at": f"{day.isoformat()}T12:00:00Z", "data": {"user": "history-probe"}}
    await client.post(f"/api/customers/{customer}/events", event)
    acknowledged = time.perf_counter()
    while time.perf_counter() - acknowledged < 60 and score(await client.get(path)) == before:
        await asyncio.sleep(0.05)
    result.history[HISTORY_RESTATED] = time.perf_counter() - acknowledged
    say(f"  {HISTORY_RESTATED}: {result.history[HISTORY_RESTATED]:.2f} s")


async def measure_reads_while_writing_a_day(
    client: Client, engine: Engine, result: ScaleResult, say: Say, seconds: float
) -> None:
    """Compare the p99 of dashboard and health reads just before and while the server's keeper writes a closed day
    (the oldest kept day, taken away so that the keeper writes it again within a second, as after a rollover)."""
    customers = result.sizes["customers"]
    rng = random.Random(17)
    auth = client.auth[:1]
    reads = [load.Request("GET", "/api/dashboard", headers=auth)]
    reads += [
        load.Request("GET", f"/api/customers/{rng.randrange(1, customers + 1)}/health", headers=auth)
        for _ in range(500)
    ]

    async def mixed(span: float) -> load.LoadResult:
        return await load.run_async(client.port, lambda n: reads[n % len(reads)], 2, span)

    quiet = await mixed(seconds)
    oldest = utc_now().date() - dt.timedelta(days=load_settings({}).history_days)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM score_history WHERE day = :day"), {"day": oldest})
        conn.execute(text("DELETE FROM score_history_days WHERE day = :day"), {"day": oldest})
    span = max(seconds, 2 * result.history.get(HISTORY_DAY, 1.0) + 2)  # the keeper's next tick and the whole write
    writing = await mixed(span)
    with engine.connect() as conn:
        rewritten = conn.execute(
            text("SELECT written_at FROM score_history_days WHERE day = :day"), {"day": oldest}
        ).scalar()
    if rewritten is None:
        result.notes.append(f"score history: the keeper had not written {oldest} again within {span:.0f} s")
        return
    result.p99[READS_QUIET], result.p99[READS_WRITING] = quiet.p(99), writing.p(99)
    say(f"  reads p99: {quiet.p(99):.2f} ms before, {writing.p(99):.2f} ms while a day is written")
    result.notes.append(f"score history: the server's keeper wrote {oldest} again during the {span:.0f} s of reads")


async def _probes(client: Client) -> list[tuple[int, str, dt.date]]:
    """Pick at-risk customers with a day without logins in the window: one more login there changes the score."""
    found = []
    today = utc_now().date()
    for entry in (await client.get("/api/dashboard"))["top_at_risk"]:
        health = await client.get(f"/api/customers/{entry['id']}/health")
        days = {dt.date.fromisoformat(a["day"]): a["logins"] for a in health["activity"]}
        free = [today - dt.timedelta(days=k) for k in range(2, 28) if not days.get(today - dt.timedelta(days=k))]
        logins = next(f for f in health["factors"] if f["key"] == "login_frequency")
        if free and logins["score"] is not None and logins["score"] < 100:
            found.append((entry["id"], entry["name"], free[0]))
    return found[:2]


async def _probe(client: Client, customer: int, name: str, day: dt.date, how: str, result: ScaleResult) -> None:
    def entry(dashboard: Any) -> Any:
        return next((e["score"] for e in dashboard["top_at_risk"] if e["id"] == customer), None)

    def listed(page: Any) -> Any:
        return next((c["score"] for c in page["customers"] if c["id"] == customer), None)

    query = "/api/customers?" + urllib.parse.urlencode({"q": name, "limit": 500})
    shown_before, listed_before = entry(await client.get("/api/dashboard")), listed(await client.get(query))
    event = {"type": "login", "occurred_at": f"{day.isoformat()}T12:00:00Z", "data": {"user": "probe"}}
    if how == "a batch":
        await client.post("/api/events/batch", {"events": [{**event, "customer_id": customer}]})
    else:
        await client.post(f"/api/customers/{customer}/events", event)
    acknowledged = time.perf_counter()
    if how == "a single event":
        await client.get(f"/api/customers/{customer}/health")
        result.freshness["health after a single event"] = time.perf_counter() - acknowledged
    for label, path, value, before in (
        (f"dashboard after {how}", "/api/dashboard", entry, shown_before),
        (f"list after {how}", query, listed, listed_before),
    ):
        while time.perf_counter() - acknowledged < 30 and value(await client.get(path)) == before:
            await asyncio.sleep(0.01)
        result.freshness[label] = time.perf_counter() - acknowledged


def bench_scale(
    url: str,
    name: str,
    folder: Path,
    say: Say,
    seconds: float = PHASE_SECONDS,
    naive_budget: float = NAIVE_BUDGET_SECONDS,
    backfilled: Backfill | None = None,
) -> ScaleResult:
    """Measure one data set: in this process (rescore, the naive way), then through a server under load.
    `backfilled`: what `write_history` did before (the score history is written here otherwise)."""
    engine = create_engine(url, pool_size=2)
    try:
        result = ScaleResult(name, dataset_sizes(engine))
        result.notes.append(f"load average when the measurements began: {machine.load_average()}")
        say(f"{name}: {result.sizes['customers']:,} customers, {result.sizes['events']:,} events")
        result.rescore = measure_rescore(engine, say)
        result.analysis = measure_analysis(url, say)
        if result.sizes["customers"] < 100:
            result.notes.append(f"analysis: events() of 100 customers read all {result.sizes['customers']} customers")
        measure_naive(engine, result, say, naive_budget)
        fill_history(engine, result, say, backfilled)
        measure_backtest(engine, result, say)
        known_to_the_crm(engine)
        before = commit_latency(engine)
        with running_server(url, folder / f"server-{name}") as server:

            def meter() -> Meter:
                return Meter(server.process.pid, engine)

            asyncio.run(measure_server(server, engine, meter, result, say, seconds))
            result.rss_mb, result.peak_rss_mb = machine.memory_mb(server.process.pid)
            kernels = machine.page_kernels(server.process.pid)
            result.notes.append(
                f"the kernels preheated for the pages: {len(kernels)}, "
                f"{sum(machine.own_memory_mb(pid) for pid in kernels):.0f} MB of their own together (not shared with "
                "the kernel zygote they are forked from), not counted in the server's RSS"
            )
        result.commit_ms = (before, commit_latency(engine))
        measure_import(url, result, say, folder, IMPORT_ROWS.get(name, IMPORT_ROWS["S"]))
        say(f"  a durable commit: {before:.1f} ms before the load, {result.commit_ms[1]:.1f} ms after (median)")
    finally:
        engine.dispose()
    return result


Backfill = tuple[int, float]  # closed days of score history written, and the seconds it took


def write_history(engine: Engine) -> Backfill:
    """Write the score history the server would write on its first start (the days already written by an earlier
    run are skipped); return how many days it wrote, and in how many seconds. Before any server of the benchmark
    starts: else that server writes it in the background, competing with the measurements."""
    days = load_settings({}).history_days
    started = time.monotonic()
    written = backfill(engine, ScoringConfig(), days, progress=io.StringIO())
    elapsed = time.monotonic() - started
    if written == days:
        with engine.begin() as conn:  # kept with the data set, for the runs that find its history written
            conn.execute(text(f"COMMENT ON TABLE score_history IS '{json.dumps({'backfill_seconds': elapsed})}'"))
    return written, elapsed


def write_history_of(url: str) -> Backfill:
    """`write_history` over a data set's URL."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        return write_history(engine)
    finally:
        engine.dispose()


def fill_history(engine: Engine, result: ScaleResult, say: Say, backfilled: Backfill | None = None) -> None:
    """Write the score history before the server starts (`write_history`, unless `backfilled` says what it did
    already) and report how long that took; then time one closed day written again on its own, and measure the
    table."""
    days = load_settings({}).history_days
    written, elapsed = write_history(engine) if backfilled is None else backfilled
    if written == days:
        result.history[HISTORY_BACKFILL] = elapsed
    else:
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT obj_description('score_history'::regclass, 'pg_class')")).scalar()
        with contextlib.suppress(KeyError, TypeError, ValueError):
            result.history[HISTORY_BACKFILL_EARLIER] = float(json.loads(kept or "{}")["backfill_seconds"])
    note = f"score history: {written} of {days} closed days written before the server started, in {elapsed:.1f} s"
    result.notes.append(note)
    say(f"  {note}")
    oldest = utc_now().date() - dt.timedelta(days=days)
    with engine.begin() as conn:  # the oldest kept day, written again exactly as the keeper writes a day that ended
        conn.execute(text("DELETE FROM score_history WHERE day = :day"), {"day": oldest})
        conn.execute(text("DELETE FROM score_history_days WHERE day = :day"), {"day": oldest})
    recorder = HistoryRecorder(engine, ScoringConfig(), days)
    started = time.monotonic()
    recorder.write_day(oldest, wait=True)
    result.history[HISTORY_DAY] = time.monotonic() - started
    if HISTORY_BACKFILL not in result.history and HISTORY_BACKFILL_EARLIER not in result.history:
        result.history[HISTORY_BACKFILL_ESTIMATED] = result.history[HISTORY_DAY] * days
    say(f"  {HISTORY_DAY}: {result.history[HISTORY_DAY]:.2f} s")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM score_history")).scalar_one()
        size = conn.execute(  # a partitioned table has no storage of its own: its months hold the rows
            text("SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('score_history')")
        ).scalar_one()
    result.notes.append(
        f"score history table: {rows:,} rows, {size / 2**20:,.0f} MiB with its indexes, "
        f"{size / max(rows, 1):.0f} bytes per customer-day"
    )


def measure_backtest(engine: Engine, result: ScaleResult, say: Say, days: int = 180) -> None:
    """Time the backtest of the last `days` days of history (target at L: 10 s for 180 days), as the API runs it."""
    service = HealthService(engine, ScoringConfig())
    with engine.connect() as conn:
        last = conn.execute(text("SELECT max(day) FROM score_history_days")).scalar_one()
    if last is None:
        result.notes.append("backtest: no score history to judge")
        return
    first = last - dt.timedelta(days=days - 1)
    began = time.perf_counter()
    figures = service.backtest(first, last, horizon=90, lead=30)
    result.backtest_seconds = time.perf_counter() - began
    note = (
        f"backtest of {days} days ({figures.observations:,} customer-days, {figures.churners:,} churners): "
        f"{result.backtest_seconds:.2f} s (target at L: 10 s)"
    )
    result.notes.append(note)
    say(f"  {note}")


def measure_import(url: str, result: ScaleResult, say: Say, folder: Path, rows: int) -> None:
    """Time `python -m healthdash import events.csv --dry-run` of a file of `rows` activity events, the whole command
    from its start (target: 50,000 rows/s at L, a million rows): every row is loaded with COPY and checked as an
    import does, then rolled back, so that the data set stays as it was."""
    customers = result.sizes["customers"]
    rng = random.Random(4)
    path = folder / "import-events.csv"
    moment = (utc_now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with path.open("w", encoding="utf-8") as out:
        out.write("customer_id,type,occurred_at,user,feature,count\n")
        for _ in range(rows):
            customer = rng.randint(1, customers)
            if rng.random() < 0.5:
                out.write(f"{customer},login,{moment},user{rng.randint(1, 9)},,\n")
            else:
                out.write(f"{customer},api_call,{moment},,,{rng.randint(1, 500)}\n")
    command = [sys.executable, "-m", "healthdash", "import", str(path), "--dry-run"]
    environment = {**os.environ, "DATABASE_URL": url}
    began = time.perf_counter()
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=3600, check=False)
    elapsed = time.perf_counter() - began
    path.unlink()
    if done.returncode != 0:
        result.notes.append(f"import of {rows:,} events failed: {done.stderr.strip()[-300:]}")
        return
    result.import_rows = rows
    result.import_rows_per_second = rows / elapsed
    note = (
        f"`python -m healthdash import` of {rows:,} events (--dry-run: loaded, checked, rolled back): {elapsed:.1f} s "
        f"for the command, {result.import_rows_per_second:,.0f} rows/s (it reported: {done.stdout.strip()})"
    )
    result.notes.append(note)
    say(f"  {note}")


def commit_latency(engine: Engine, count: int = 50) -> float:
    """Return the median milliseconds of a durable commit (of a transaction that wrote its id: a flushed record)."""
    times = []
    with engine.connect() as conn:
        for _ in range(count):
            began = time.perf_counter()
            with conn.begin():
                conn.execute(text("SELECT pg_current_xact_id()"))
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)
