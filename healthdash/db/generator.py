"""Bulk-load a synthetic data set into a database: schema, then COPY, then indexes, constraints and triggers.

The whole load is one transaction. It empties the tables, sets the events triggers aside (the rollup is written
directly, day by day, from the generated events), drops the indexes and foreign keys of the two big tables, streams
every table in with COPY ... FREEZE, then rebuilds the indexes, validates the foreign keys and every event's
customer, and restores the triggers exactly as they were. If anything fails, the rollback leaves the database as it
was, triggers included.
"""

from __future__ import annotations

import datetime as dt
import io
import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO

import numpy as np
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from tqdm import tqdm

from healthdash.db import synthetic as syn
from healthdash.db.database import INIT_SQL
from healthdash.vocabulary import CHURN_REASONS, EVENT_TYPES, PLANS, PRIORITIES, REGIONS, SEGMENTS

SAMPLE_DATA_MARKER = "-- Sample data"
TABLES = ("customers", "features", "events", "tickets", "invoices", "customer_daily")
# what was remembered or derived from the data replaced (the score history is written again by the server)
DERIVED_TABLES = ("idempotency_keys", "score_history", "score_history_days", "score_history_stale")
BIG_TABLES = ("events", "customer_daily")  # loaded without indexes and foreign keys
POST_LOAD_SHARE = 0.45  # index builds and checks, as a share of the time taken by the COPY of the events
COPY_BLOCK = 1 << 20
BAR_FORMAT = "{desc} {percentage:3.0f}%|{bar:30}| {elapsed} elapsed, {remaining} left{postfix}"
QUIET_SECONDS = 5.0  # between progress lines when the output is not a terminal
_TIME_OF_DAY = np.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(86_400)], dtype=object)


_SET_SEQUENCES = tuple(
    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
    for table in ("customers", "events", "tickets", "invoices")
)


class GeneratorError(RuntimeError):
    """The data set cannot be generated into this database."""


@dataclass(frozen=True)
class LoadSummary:
    """What a load wrote, and how long it took."""

    customers: int
    events: int
    tickets: int
    invoices: int
    rollup_rows: int
    seconds: float


def schema_sql(init_sql: Path = INIT_SQL) -> str:
    """Return the schema part of db/init.sql (everything before the sample data), as one committed script."""
    script = init_sql.read_text(encoding="utf-8")
    cut = script.find("\n" + SAMPLE_DATA_MARKER)
    if cut < 0:
        raise GeneratorError(f"{init_sql} has no line starting with {SAMPLE_DATA_MARKER!r}")
    return script[:cut] + "\nCOMMIT;\n"


class _Lines:
    """A progress bar's output as whole lines, for a log or a pipe: every redraw of the bar becomes a line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        line = text.strip("\r\n ")
        if line:
            self.stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(total: float, label: str, stream: TextIO | None = None) -> tqdm[NoReturn]:
    """Return a tqdm bar with the share done and the time left: redrawn in place on a terminal, else a line every
    few seconds."""
    stream = stream if stream is not None else sys.stderr
    live = bool(getattr(stream, "isatty", lambda: False)())
    return tqdm(
        total=total,
        desc=label,
        file=stream if live else _Lines(stream),
        mininterval=0.1 if live else QUIET_SECONDS,
        miniters=0,  # redraw on time alone, also for a step that only changes the note
        bar_format=BAR_FORMAT,
    )


def _advance(bar: tqdm[NoReturn], units: float, note: str) -> None:
    bar.set_postfix_str(note, refresh=False)
    bar.update(units)


def generate(
    url: str,
    customers: int,
    days: int,
    seed: int = 0,
    *,
    replace: bool = False,
    progress: TextIO | None = None,
    today: dt.date | None = None,
) -> LoadSummary:
    """Generate a data set of `customers` customers over `days` days into the database at `url`.

    A progress bar goes to `progress` (standard error by default).
    """
    started = time.monotonic()
    plan = syn.Plan(customers, days, seed, today)
    total = days * (1 + POST_LOAD_SHARE)  # a day's COPY is one unit
    engine = create_engine(url, poolclass=NullPool)
    pooled = engine.raw_connection()
    connection: Any = pooled.dbapi_connection  # the driver's own connection: its autocommit switch is real
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            _prepare(cursor, replace)
        with progress_bar(total, "generate", progress) as bar:
            connection.autocommit = False
            with connection.cursor() as cursor:
                counts = _load(cursor, plan, bar)
            connection.commit()
            connection.autocommit = True
            with connection.cursor() as cursor:
                _advance(bar, 0, "vacuum analyze")
                for table in TABLES:
                    cursor.execute(f"VACUUM (ANALYZE) {table}")
            summary = LoadSummary(*counts, seconds=time.monotonic() - started)
            done = f"{summary.customers:,} customers, {summary.events:,} events in {summary.seconds:.0f} s"
            _advance(bar, total - bar.n, done)
    finally:
        pooled.close()
        engine.dispose()
    return summary


def _prepare(cursor: Any, replace: bool) -> None:
    cursor.execute("SELECT to_regclass('public.customers') IS NOT NULL")
    if not cursor.fetchone()[0]:
        cursor.execute(schema_sql())
        return
    cursor.execute("SELECT count(*) FROM customers")
    existing = int(cursor.fetchone()[0])
    if existing and not replace:
        raise GeneratorError(
            f"the database already holds {existing:,} customers; pass --replace to delete all its data first"
        )


def _load(cursor: Any, plan: syn.Plan, bar: tqdm[NoReturn]) -> tuple[int, int, int, int, int]:
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    cursor.execute("SET LOCAL TimeZone = 'UTC'")
    remembered = []  # tables of later versions of the schema: emptied when the database has them
    for table in DERIVED_TABLES:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",))
        remembered += [table] if cursor.fetchone()[0] else []
    cursor.execute(f"TRUNCATE {', '.join([*TABLES, *remembered])} RESTART IDENTITY CASCADE")
    triggers = _enabled_triggers(cursor, "events")
    for name in triggers:
        cursor.execute(f'ALTER TABLE events DISABLE TRIGGER "{name}"')
    rebuild = [statement for table in BIG_TABLES for statement in _drop_indexes_and_keys(cursor, table)]

    _advance(bar, 0, "customers, tickets and invoices")
    _copy(cursor, "features (key, label, bit)", _feature_rows())
    _copy(
        cursor,
        "customers (id, name, segment, plan, seats, industry, region, owner, created_at, arr, renewal_date, status)",
        _customers(plan),
    )
    _copy(cursor, "tickets (id, customer_id, subject, priority, status, opened_at, closed_at)", _tickets(plan))
    _copy(cursor, "invoices (id, customer_id, amount, issued_at, due_at, paid_at)", _invoices(plan))
    events = rollup = 0
    next_id = 1
    for day in _ahead(plan.event_days()):
        _copy(cursor, "events (id, customer_id, type, occurred_at, data, recorded_at)", [_event_text(day, next_id)])
        _copy(cursor, "customer_daily (customer_id, day, logins, api_calls, feature_uses, feature_mask)", _rollup(day))
        next_id += len(day.customer_id)
        events += len(day.customer_id)
        rollup += len(day.rollup_customer_id)
        _advance(bar, 1, f"{day.day}: {events:,} events")
    churns = _churns(plan, next_id)
    _copy(cursor, "events (id, customer_id, type, occurred_at, data, recorded_at)", churns)
    events += int(plan.outcomes.churned.sum())

    for statement in _SET_SEQUENCES:
        cursor.execute(statement)
    for statement in rebuild:
        _advance(bar, plan.days * POST_LOAD_SHARE / len(rebuild), statement.split(" (")[0][:60])
        cursor.execute(statement)
    # what the events' trigger (set aside) checks of each statement: every event's customer exists
    cursor.execute(
        "SELECT e.customer_id FROM events e LEFT JOIN customers c ON c.id = e.customer_id WHERE c.id IS NULL LIMIT 1"
    )
    if (orphan := cursor.fetchone()) is not None:
        raise GeneratorError(f"an event names customer {orphan[0]}, which was not generated")
    for name in triggers:
        cursor.execute(f'ALTER TABLE events ENABLE TRIGGER "{name}"')
    return plan.size, events, len(plan.tickets.customer), len(plan.invoices.customer), rollup


def _enabled_triggers(cursor: Any, table: str) -> list[str]:
    cursor.execute(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal AND tgenabled <> 'D' "
        "ORDER BY tgname",
        (table,),
    )
    return [row[0] for row in cursor.fetchall()]


def _drop_indexes_and_keys(cursor: Any, table: str) -> list[str]:
    """Drop a table's foreign keys, primary key and indexes; return the statements that restore them."""
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY contype DESC, conname",
        (table,),
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = %s "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) ORDER BY i.indexname",
        (table,),
    )
    indexes = cursor.fetchall()
    for name, _, _ in constraints:  # foreign keys first ('f' sorts after 'p' and 'u', hence DESC)
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    keys = [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {d}' for name, kind, d in constraints if kind != "f"]
    foreign = [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {d}' for name, kind, d in constraints if kind == "f"]
    return keys + [definition for _, definition in indexes] + foreign


def _ahead(days: Iterator[syn.DayOfEvents], depth: int = 2) -> Iterator[syn.DayOfEvents]:
    """Generate the next days in a thread while the database ingests the current one."""
    ready: queue.Queue[syn.DayOfEvents | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for day in days:
                while not stop.is_set():
                    try:
                        ready.put(day, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(None)
        except BaseException as exc:  # handed to the consumer
            ready.put(exc)

    worker = threading.Thread(target=produce, name="generate-days", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _copy(cursor: Any, target: str, chunks: Iterable[str]) -> None:
    cursor.copy_expert(f"COPY {target} FROM STDIN WITH (FREEZE)", _TextStream(iter(chunks)), size=COPY_BLOCK)


class _TextStream(io.RawIOBase):
    """A readable stream over chunks of COPY text, encoded as UTF-8 one chunk at a time."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self._data = b""
        self._position = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while self._position >= len(self._data):
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._data, self._position = chunk.encode("utf-8"), 0
        end = len(self._data) if size < 0 else self._position + size
        data = self._data[self._position : end]
        self._position += len(data)
        return data


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _lines(rows: Iterable[Iterable[str]]) -> Iterator[str]:
    yield "".join("\t".join(row) + "\n" for row in rows)


def _or_null(texts: list[str], present: np.ndarray) -> Iterator[str]:
    """Each text where present, else COPY's NULL."""
    return (text if here else "\\N" for text, here in zip(texts, present.tolist(), strict=True))


def _timestamps(seconds: np.ndarray) -> list[str]:
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return [f"{t}+00" for t in text.tolist()]


def _dates(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()  # type: ignore[no-any-return]


def _feature_rows() -> Iterator[str]:
    return _lines((key, label, str(bit)) for bit, (key, label) in enumerate(syn.FEATURES))


def _customers(plan: syn.Plan) -> Iterator[str]:
    c, o = plan.customers, plan.outcomes
    created = (plan.epoch_day - c.age_days) * syn.DAY_SECONDS + c.signup_second
    return _lines(
        zip(
            map(str, c.id.tolist()),
            (_escape(name) for name in c.name.tolist()),
            (SEGMENTS[s] for s in c.segment.tolist()),
            (PLANS[p] for p in c.plan.tolist()),
            map(str, c.seats.tolist()),
            (syn.INDUSTRIES[i] for i in c.industry.tolist()),
            (REGIONS[r] for r in c.region.tolist()),
            (syn.OWNERS[owner] for owner in c.owner.tolist()),
            _timestamps(created),
            (f"{a:.2f}" for a in o.arr.tolist()),
            _dates(o.renewal_day),
            ("churned" if churned else "active" for churned in o.churned.tolist()),
            strict=True,
        )
    )


def _churns(plan: syn.Plan, first_id: int) -> list[str]:
    """Return the churned events of the customers who churned (at 15:00 UTC of their churn day), numbered on."""
    o = plan.outcomes
    who = np.flatnonzero(o.churned)
    at = _timestamps(o.churn_day[who] * syn.DAY_SECONDS + 15 * 3600)
    rows = (
        (str(first_id + i), str(c + 1), "churned", when, f'{{"reason": "{CHURN_REASONS[o.reason[c]]}"}}', when)
        for i, (c, when) in enumerate(zip(who.tolist(), at, strict=True))
    )
    return list(_lines(rows))


def _tickets(plan: syn.Plan) -> Iterator[str]:
    t = plan.tickets
    closed = t.closed_at >= 0
    return _lines(
        zip(
            map(str, t.id.tolist()),
            map(str, (t.customer + 1).tolist()),
            (_escape(s) for s in t.subject.tolist()),
            (PRIORITIES[p] for p in t.priority.tolist()),
            ("closed" if c else "open" for c in closed.tolist()),
            _timestamps(t.opened_at),
            _or_null(_timestamps(np.where(closed, t.closed_at, 0)), closed),
            strict=True,
        )
    )


def _invoices(plan: syn.Plan) -> Iterator[str]:
    i = plan.invoices
    paid = i.paid_on >= 0
    return _lines(
        zip(
            map(str, i.id.tolist()),
            map(str, (i.customer + 1).tolist()),
            (f"{cents // 100}.{cents % 100:02d}" for cents in i.amount_cents.tolist()),
            _dates(i.issued_on),
            _dates(i.due_on),
            _or_null(_dates(np.where(paid, i.paid_on, 0)), paid),
            strict=True,
        )
    )


def _event_text(day: syn.DayOfEvents, first_id: int) -> str:
    prefix = day.day.isoformat() + " "
    moments = [prefix + t for t in _TIME_OF_DAY[day.occurred_at % syn.DAY_SECONDS].tolist()]
    types = np.array(EVENT_TYPES, dtype=object)[day.type].tolist()
    rows = zip(
        map(str, range(first_id, first_id + len(day.customer_id))),
        map(str, day.customer_id.tolist()),
        types,
        moments,
        day.data.tolist(),
        moments,
        strict=True,
    )
    return "".join("\t".join(row) + "\n" for row in rows)


def _rollup(day: syn.DayOfEvents) -> Iterator[str]:
    date = day.day.isoformat()
    return _lines(
        zip(
            map(str, day.rollup_customer_id.tolist()),
            (date for _ in range(len(day.rollup_customer_id))),
            map(str, day.rollup_logins.tolist()),
            map(str, day.rollup_api_calls.tolist()),
            map(str, day.rollup_feature_uses.tolist()),
            map(str, day.rollup_feature_mask.tolist()),
            strict=True,
        )
    )
