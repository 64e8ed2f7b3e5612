"""A deliberately simple implementation of a customer's health and of recording an event, to compare against.

It is what a typical web app would write: a thread per connection (the standard library's HTTP server), a database
connection per thread, and per request plain SQL over the raw tables with the indexes they have (events, tickets and
invoices by customer): the profile, the page of events and their count, the tickets, the invoices, the daily
activity grouped from the raw events, and the signals worked out in Python from the raw events of the last three
windows (`benchmarks.naive`), scored with the same model; an event is one INSERT and one durable commit, answered
with the customer's new score computed the same way. No cache, no rollup read, no grouping of commits.

`python -m benchmarks.reference DATABASE_URL` serves on a free port of 127.0.0.1 and prints its address.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import psycopg2
import psycopg2.extras
from sqlalchemy import make_url

from benchmarks.naive import customer_signals
from healthdash.clock import as_of_day, utc_now
from healthdash.scoring import ScoringConfig, explain_customer
from healthdash.scoring.trend import trend_columns
from healthdash.vocabulary import ACTIVITY_TYPES

PATH = re.compile(r"^/api/customers/(\d+)/(health|events)$")
CONFIG = ScoringConfig()
_local = threading.local()


# the customer's record with its ARR and renewal day as the signal query gives them
CUSTOMER = (
    "SELECT *, (arr * 100)::bigint AS arr_cents, coalesce(renewal_date - DATE '1970-01-01', -1) AS renewal_day "
    "FROM customers WHERE id = %s"
)


def _connection(dsn: str) -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg2.connect(dsn, options="-c TimeZone=UTC")
        psycopg2.extras.register_default_jsonb(conn)
    return conn


def _score(cur: Any, customer: Any) -> dict[str, Any] | None:
    """Return the customer's score row and signals as of now, from its raw events (None before it existed)."""
    features = _catalogue(cur)
    day = as_of_day(utc_now())
    now, before = customer_signals(cast(Any, _Bound(cur)), customer, day, CONFIG.window_days, CONFIG, features)
    if now is None:
        return None
    current = {k: np.asarray([v]) for k, v in now.items()}
    previous = {k: np.asarray([v]) for k, v in (before or now).items()}
    ids = np.asarray([customer.id])
    columns = trend_columns(current, ids, previous, ids, 1, 1 if before else 0, CONFIG)
    row = {k: v[0] for k, v in columns.items()}
    return {"row": row, "signals": now}


def _catalogue(cur: Any) -> set[str]:
    cur.execute("SELECT key FROM features")
    return {r[0] for r in cur.fetchall()}


class _Bound:
    """Let the naive signal code run its SQLAlchemy-style statements on a psycopg2 cursor."""

    def __init__(self, cur: Any) -> None:
        self.cur = cur

    def execute(self, statement: Any, params: dict[str, Any]) -> _Rows:
        sql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", str(statement))
        self.cur.execute(sql, params)
        return _Rows(self.cur.fetchall())


class _Rows(list[Any]):
    def fetchall(self) -> list[Any]:
        return list(self)


def _number(value: Any) -> Any:
    return None if value is None or pd.isna(value) else float(value)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value.item() if hasattr(value, "item") else str(value)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: with Nagle's algorithm on, the body waited for the client's delayed
    # acknowledgement of the headers (40 ms), which no typical web server makes its answers wait for
    disable_nagle_algorithm = True
    dsn = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the benchmark measures the answers."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        match = PATH.match(url.path)
        if url.path == "/api/healthz":
            return self._send(200, {"status": "ok"})
        if not match or match[2] != "health":
            return self._send(404, {"detail": "not found"})
        query = parse_qs(url.query)
        limit = int(query.get("events_limit", ["20"])[0])
        offset = int(query.get("events_offset", ["0"])[0])
        conn = _connection(self.dsn)
        with conn, conn.cursor(cursor_factory=psycopg2.extras.NamedTupleCursor) as cur:
            body = _health(cur, int(match[1]), limit, offset)
        if body is None:
            return self._send(404, {"detail": "no such customer"})
        self._send(200, body)

    def do_POST(self) -> None:
        match = PATH.match(urlsplit(self.path).path)
        length = int(self.headers.get("Content-Length") or 0)
        event = json.loads(self.rfile.read(length) or b"{}")
        if not match or match[2] != "events":
            return self._send(404, {"detail": "not found"})
        if event.get("type") not in ACTIVITY_TYPES:
            return self._send(422, {"detail": "only activity events"})
        conn = _connection(self.dsn)
        with conn.cursor(cursor_factory=psycopg2.extras.NamedTupleCursor) as cur:
            try:
                cur.execute(
                    "INSERT INTO events (customer_id, type, occurred_at, data) VALUES (%s, %s, %s, %s) "
                    "RETURNING id, customer_id, type, occurred_at, data, recorded_at",
                    (int(match[1]), event["type"], utc_now(), json.dumps(event.get("data", {}))),
                )
                stored = cur.fetchone()._asdict()
                conn.commit()
            except psycopg2.errors.ForeignKeyViolation:
                conn.rollback()
                return self._send(404, {"detail": "no such customer"})
            cur.execute(CUSTOMER, (int(match[1]),))
            scored = _score(cur, cur.fetchone())
            conn.commit()
        health = {"score": None, "tier": "insufficient_data"}
        if scored is not None:
            health = {"score": _number(scored["row"]["score"]), "tier": scored["row"]["tier"]}
        self._send(201, {"event": stored, "health": health})

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body, default=_plain).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _health(cur: Any, customer_id: int, limit: int, offset: int) -> dict[str, Any] | None:
    now = utc_now()
    cur.execute(CUSTOMER, (customer_id,))
    customer = cur.fetchone()
    if customer is None:
        return None
    cur.execute(
        "SELECT id, customer_id, type, occurred_at, data, recorded_at FROM events WHERE customer_id = %s "
        "AND occurred_at <= %s ORDER BY occurred_at DESC, id DESC LIMIT %s OFFSET %s",
        (customer_id, now, limit, offset),
    )
    events = [r._asdict() for r in cur.fetchall()]
    cur.execute("SELECT count(*) FROM events WHERE customer_id = %s AND occurred_at <= %s", (customer_id, now))
    total = cur.fetchone()[0]
    cur.execute(
        "SELECT id, subject, priority, status, opened_at, closed_at FROM tickets WHERE customer_id = %s "
        "ORDER BY opened_at DESC LIMIT 100",
        (customer_id,),
    )
    tickets = [r._asdict() for r in cur.fetchall()]
    cur.execute(
        "SELECT id, amount, issued_at, due_at, paid_at FROM invoices WHERE customer_id = %s ORDER BY due_at DESC "
        "LIMIT 100",
        (customer_id,),
    )
    invoices = [r._asdict() for r in cur.fetchall()]
    cur.execute(
        "SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, count(*) FILTER (WHERE type = 'login') AS logins, "
        "count(*) FILTER (WHERE type = 'feature_use') AS feature_uses, "
        "coalesce(sum((data ->> 'count')::bigint) FILTER (WHERE type = 'api_call'), 0) AS api_calls "
        "FROM events WHERE customer_id = %s AND occurred_at > %s AND occurred_at <= %s GROUP BY 1 ORDER BY 1",
        (customer_id, now - dt.timedelta(days=90), now),
    )
    activity = [r._asdict() for r in cur.fetchall()]
    scored = _score(cur, customer)
    body: dict[str, Any] = {
        "customer": customer._asdict(),
        "as_of": now,
        "events": {"items": events, "total": total, "limit": limit, "offset": offset},
        "tickets": tickets,
        "invoices": invoices,
        "activity": activity,
        "score": None,
        "tier": "insufficient_data",
        "factors": [],
    }
    if scored is not None:
        row = scored["row"]
        body.update(
            score=_number(row["score"]),
            tier=row["tier"],
            coverage=float(row["coverage"]),
            main_reason=row["main_reason"],
            trend={"previous_score": _number(row["previous_score"]), "delta": _number(row["trend"])},
            factors=[f.as_dict() for f in explain_customer(scored["signals"], row, CONFIG)],
        )
    return body


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that closed its connection while being answered (the load generator stopping) is not an error;
        anything else is reported as usual."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main(argv: list[str]) -> int:
    """Serve the reference implementation over a database until stopped."""
    url = make_url(argv[0])
    Handler.dsn = url.render_as_string(hide_password=False).replace("postgresql+psycopg2://", "postgresql://")
    server = Server(("127.0.0.1", 0), Handler)
    print(f"reference serving http://127.0.0.1:{server.server_address[1]}/", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
