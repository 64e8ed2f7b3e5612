"""The naive way, as hobby versions of this dashboard work: per customer, queries over the raw events.

For every customer it reads the customer's raw events of the last three windows, its tickets and its invoices, and
works out the signals in Python; then it scores the customers with the same model and summarises them. It shares
nothing with healthdash's rollup, signal query or cache, so it also checks them: both must give the same scores.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from healthdash.clock import as_of_day
from healthdash.scoring import ScoringConfig
from healthdash.scoring.trend import score_with_trend
from healthdash.summary import dashboard_summary
from healthdash.vocabulary import PRIORITIES

_CUSTOMERS = text(
    "SELECT id, name, segment, plan, status, seats, (arr * 100)::bigint AS arr_cents, "
    "coalesce(renewal_date - DATE '1970-01-01', -1) AS renewal_day, created_at FROM customers ORDER BY id"
)
_EVENTS = text(
    """
    SELECT type, occurred_at, data FROM events
     WHERE customer_id = :id AND occurred_at >= :start AND occurred_at < :end
       AND type IN ('login', 'feature_use', 'api_call')
    """
)
_TICKETS = text("SELECT priority, opened_at FROM tickets WHERE customer_id = :id AND opened_at >= :start")
_INVOICES = text("SELECT due_at, paid_at FROM invoices WHERE customer_id = :id AND due_at > :first_due")
_FEATURES = text("SELECT key FROM features")


@dataclass(frozen=True)
class NaiveRun:
    """What the naive dashboard cost, and its scores."""

    customers: int
    seconds: float
    summary: dict[str, Any] | None  # None when it ran out of time before every customer was done
    scores: pd.DataFrame

    @property
    def seconds_for_all(self) -> float:
        """The time for every customer (extrapolated when it stopped early)."""
        return self.seconds * self.total / max(self.customers, 1)

    total: int = 0


def naive_dashboard(engine: Engine, as_of: dt.datetime, config: ScoringConfig, budget: float | None = None) -> NaiveRun:
    """Compute the dashboard the naive way; stop after `budget` seconds (then the time is extrapolated)."""
    started = time.perf_counter()
    day = as_of_day(as_of)
    w = config.window_days
    with engine.connect() as conn:
        customers = conn.execute(_CUSTOMERS).fetchall()
        catalogue = {row[0] for row in conn.execute(_FEATURES)}
        now_rows: list[dict[str, Any]] = []
        before_rows: list[dict[str, Any]] = []
        done = 0
        for customer in customers:
            if budget is not None and time.perf_counter() - started > budget:
                break
            now, before = customer_signals(conn, customer, day, w, config, catalogue)
            if now is not None:
                now_rows.append(now)
            if before is not None:
                before_rows.append(before)
            done += 1
    current = pd.DataFrame(now_rows).set_index("id") if now_rows else pd.DataFrame()
    previous = pd.DataFrame(before_rows).set_index("id") if before_rows else current.iloc[0:0]
    table = score_with_trend(current, previous, config) if len(current) else pd.DataFrame()
    complete = done == len(customers)
    summary = dashboard_summary(table, as_of) if complete and len(table) else None
    return NaiveRun(done, time.perf_counter() - started, summary, table, total=len(customers))


def customer_signals(
    conn: Connection, customer: Any, day: dt.date, w: int, config: ScoringConfig, catalogue: set[str]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Return the customer's signals as of the day and a window earlier (None where it did not exist yet)."""
    start = _midnight(day - dt.timedelta(days=3 * w - 1))
    events = conn.execute(_EVENTS, {"id": customer.id, "start": start, "end": _midnight(day + dt.timedelta(1))})
    parsed = [(e.type, e.occurred_at.astimezone(dt.UTC).date(), e.data) for e in events]
    tickets = conn.execute(_TICKETS, {"id": customer.id, "start": _midnight(day - dt.timedelta(days=2 * w - 1))})
    opened = [(t.priority, t.opened_at.astimezone(dt.UTC).date()) for t in tickets]
    first_due = day - dt.timedelta(days=w + config.invoice_window_days)
    invoices = conn.execute(_INVOICES, {"id": customer.id, "first_due": first_due}).fetchall()
    created = customer.created_at.astimezone(dt.UTC).date()
    result: list[dict[str, Any] | None] = []
    for block in (0, 1):
        as_of = day - dt.timedelta(days=block * w)
        if created > as_of:
            result.append(None)
            continue
        window = (as_of - dt.timedelta(days=w), as_of)
        earlier = (as_of - dt.timedelta(days=2 * w), as_of - dt.timedelta(days=w))
        row: dict[str, Any] = {
            "id": customer.id,
            "name": customer.name,
            "segment": customer.segment,
            "plan": customer.plan,
            "status": customer.status,
            "seats": customer.seats,
            "arr_cents": customer.arr_cents,
            "renewal_day": customer.renewal_day,
            "age_days": (as_of - created).days,
            "catalogue_size": len(catalogue),
            "login_days": len({d for t, d, _ in parsed if t == "login" and _inside(d, window)}),
            "features_used": len({x["feature"] for t, d, x in parsed if t == "feature_use" and _inside(d, window)}),
            "api_calls": sum(int(x["count"]) for t, d, x in parsed if t == "api_call" and _inside(d, window)),
            "api_calls_prev": sum(int(x["count"]) for t, d, x in parsed if t == "api_call" and _inside(d, earlier)),
        }
        for priority in PRIORITIES:
            row[f"tickets_{priority}"] = sum(1 for p, d in opened if p == priority and _inside(d, window))
        row.update(_invoice_counts(invoices, as_of, config))
        result.append(row)
    return result[0], result[1]


def _invoice_counts(invoices: Sequence[Any], as_of: dt.date, config: ScoringConfig) -> dict[str, int]:
    counts = {"invoices_on_time": 0, "invoices_late_grace": 0, "invoices_late": 0}
    grace = dt.timedelta(days=config.invoice_grace_days)
    for invoice in invoices:
        if not as_of - dt.timedelta(days=config.invoice_window_days) < invoice.due_at <= as_of:
            continue
        paid = invoice.paid_at if invoice.paid_at is not None and invoice.paid_at <= as_of else None
        if paid is not None and paid <= invoice.due_at:
            counts["invoices_on_time"] += 1
        elif paid is not None and paid <= invoice.due_at + grace:
            counts["invoices_late_grace"] += 1
        elif paid is not None or invoice.due_at < as_of:
            counts["invoices_late"] += 1
    return counts


def _inside(day: dt.date, window: tuple[dt.date, dt.date]) -> bool:
    return window[0] < day <= window[1]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def agreement(naive: pd.DataFrame, ours: pd.DataFrame) -> tuple[int, int]:
    """Count the customers both computed, and those whose score and tier agree."""
    both = naive.index.intersection(ours.index)
    if not len(both):
        return 0, 0
    a, b = naive.loc[both], ours.loc[both]
    same_score = np.isclose(a["score"].to_numpy(float), b["score"].to_numpy(float), equal_nan=True)
    same_tier = a["tier"].to_numpy() == b["tier"].to_numpy()
    return len(both), int((same_score & same_tier).sum())
