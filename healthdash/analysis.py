"""The data as DataFrames for analysts: customers, scores (under any weights), events, activity, tickets, invoices.

A `Session` holds one database engine whose connections every call reuses (one, and a second while `scores()` reads
the profiles beside the signals). The module's functions use the process's default session, opened on first use over
the database healthdash uses (`DATABASE_URL`, else the embedded one that `make run` starts): a notebook's kernel
keeps its connections, it does not open one per call. Every frame has the columns
and dtypes docs/analysts.md lists: categoricals for words of the domain, UTC timestamps, nullable numbers.

Arguments are checked before any SQL runs; a bad one is a ValueError that names it.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine

from healthdash.clock import UTC, resolve_as_of, utc_now
from healthdash.db import frames
from healthdash.db.engine import make_engine
from healthdash.score_history.reports import HistoryReports
from healthdash.scoring import FACTOR_KEYS, PRIORITIES, TIERS, ConfigError, ScoringConfig
from healthdash.service import HealthService
from healthdash.vocabulary import (
    EVENT_TYPES,
    INVOICE_STATUSES,
    MAX_ID,
    PLANS,
    REGIONS,
    SEGMENTS,
    STATUSES,
    TICKET_STATUSES,
)

Moment = str | dt.date | dt.datetime
CustomerIds = int | Iterable[int] | None
API_URL_VARIABLE = "HEALTHDASH_API_URL"  # where `make lab` tells the kernels of a server (healthdash.client)
DEFAULT_DAYS = 90  # events() and activity() without a start: the 90 days up to `end`, as on the customer page
CHANGES_DAYS = 30  # changes() without a start: from 30 days before `end`, as on the customer page

__all__ = [
    "Session",
    "activity",
    "backtest",
    "changes",
    "connect",
    "customer_breakdown",
    "customers",
    "events",
    "history",
    "invoices",
    "scores",
    "session",
    "tickets",
]

_CATEGORIES: dict[str, pd.CategoricalDtype] = {
    "segment": pd.CategoricalDtype(SEGMENTS),
    "plan": pd.CategoricalDtype(PLANS, ordered=True),
    "region": pd.CategoricalDtype(REGIONS),
    "tier": pd.CategoricalDtype(TIERS),
    "main_reason": pd.CategoricalDtype(FACTOR_KEYS),
    "type": pd.CategoricalDtype(EVENT_TYPES),
    "priority": pd.CategoricalDtype(PRIORITIES, ordered=True),
    "status": pd.CategoricalDtype(STATUSES),
}
_TICKET_STATUS = {"status": pd.CategoricalDtype(TICKET_STATUSES)}
_INVOICE_STATUS = {"status": pd.CategoricalDtype(INVOICE_STATUSES)}
_LINE_KINDS = {"kind": pd.CategoricalDtype(("factor", "configuration", "coverage"))}
_SCORES = ("score", "coverage", *FACTOR_KEYS)
_PROFILE = ("name", "segment", "plan", "seats", "industry", "region", "owner")
CHANGE_COLUMNS = (
    "customer_id", "score_then", "score_now", "movement", "tier_then", "tier_now", "kind", "factor", "label",
    "points", "factor_then", "factor_now", "sentence", "signals_then", "signals_now",
)  # fmt: skip


class Session:
    """One engine over one database, and the scoring configuration scores use unless told otherwise."""

    def __init__(self, engine: Engine, config: ScoringConfig | None = None) -> None:
        self.engine = engine
        self.config = config or ScoringConfig()

    def close(self) -> None:
        """Close the session's connection."""
        self.engine.dispose()

    def customers(self, customer_ids: CustomerIds = None) -> pd.DataFrame:
        """Return every customer's (or the given ones') profile, indexed by id."""
        ids = _customer_ids(customer_ids)
        with self._connect() as conn:
            self._check_known(conn, ids)
            columns = frames.customers(conn, ids)
        return _profiles(columns)

    def scores(
        self, as_of: Moment | None = None, config: ScoringConfig | Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Return every customer's profile, score, tier, coverage, trend, and per factor its score, points and
        points lost, indexed by id; `config` scores with other weights or targets (a ScoringConfig, or a mapping of
        the settings that differ, e.g. `{"weights": {"invoice_timeliness": 40}}`)."""
        moment = resolve_as_of(as_of)
        scoring = _scoring_config(config, self.config)
        # The profiles are read on a second connection while PostgreSQL aggregates the signals: at 100,000 customers
        # that hides their third of a second behind the longer query.
        with ThreadPoolExecutor(max_workers=1) as beside:
            profiles = beside.submit(self.customers)
            table = HealthService(self.engine, scoring).score_frame(moment)
            frame = _score_frame(table, profiles.result())
        frame.attrs.update(as_of=moment.isoformat(), config=scoring.as_mapping())  # JSON: Parquet keeps them
        return frame

    def customer_breakdown(self, customer_id: int, as_of: Moment | None = None) -> pd.DataFrame:
        """Return one customer's factor breakdown (one row per factor); ValueError for an unknown id."""
        if isinstance(customer_id, bool) or not isinstance(customer_id, int):
            raise ValueError(f"customer_id: expected one customer's id, got {customer_id!r}")
        checked = customer_id
        moment = resolve_as_of(as_of)
        health = HealthService(self.engine, self.config).customer_health(checked, moment)
        if health is None:
            raise ValueError(f"customer_id: no customer with id {checked}")
        frame = pd.DataFrame(health["factors"]).set_index("key")
        frame.attrs.update(as_of=moment, score=health["score"], tier=health["tier"], customer=health["customer"])
        frame.insert(0, "as_of", moment)
        return frame

    def events(
        self,
        customer_ids: CustomerIds = None,
        start: Moment | None = None,
        end: Moment | None = None,
        types: str | Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Return the raw events that occurred from `start` to `end` (default: the 90 days up to now), by customer
        and time, indexed by event id; `types` keeps only those event types."""
        ids = _customer_ids(customer_ids)
        low, high = _moments(start, end, DEFAULT_DAYS)
        kinds = _event_types(types)
        with self._connect() as conn:
            self._check_known(conn, ids)
            columns = frames.events(conn, ids, low, high, kinds)
        frame = _frame(columns, frames.EVENT_COLUMNS, timestamps=("occurred_at", "recorded_at"))
        frame["data"] = frame["data"].astype(object)
        return frame.set_index("id")

    def activity(
        self, customer_ids: CustomerIds = None, start: Moment | None = None, end: Moment | None = None
    ) -> pd.DataFrame:
        """Return each customer's logins, feature uses, features used and API calls per UTC day (days without any
        are absent) from `start` to `end` (default: the 90 days up to today)."""
        ids = _customer_ids(customer_ids)
        low, high = _moments(start, end, DEFAULT_DAYS)
        with self._connect() as conn:
            self._check_known(conn, ids)
            columns = frames.activity(conn, ids, _day(low), _day(high))
        return _frame(columns, frames.ACTIVITY_COLUMNS, days=("day",))

    def tickets(
        self, customer_ids: CustomerIds = None, start: Moment | None = None, end: Moment | None = None
    ) -> pd.DataFrame:
        """Return the support tickets opened from `start` to `end` (default: all), indexed by ticket id."""
        ids = _customer_ids(customer_ids)
        low, high = _moments(start, end, None)
        with self._connect() as conn:
            self._check_known(conn, ids)
            columns = frames.tickets(conn, ids, low, high)
        frame = _frame(columns, frames.TICKET_COLUMNS, timestamps=("opened_at", "closed_at"), kinds=_TICKET_STATUS)
        return frame.set_index("id")

    def invoices(
        self, customer_ids: CustomerIds = None, start: Moment | None = None, end: Moment | None = None
    ) -> pd.DataFrame:
        """Return the invoices issued from `start` to `end` (default: all up to today), each with its status as of
        `end`, indexed by invoice id."""
        ids = _customer_ids(customer_ids)
        low, high = _moments(start, end, None)
        day = _day(high) or utc_now().date()
        with self._connect() as conn:
            self._check_known(conn, ids)
            columns = frames.invoices(conn, ids, _day(low), day, day, self.config.invoice_grace_days)
        frame = _frame(columns, frames.INVOICE_COLUMNS, days=("issued_at", "due_at", "paid_at"), kinds=_INVOICE_STATUS)
        frame["amount"] = frame["amount"].astype("Float64")
        return frame.set_index("id")

    def history(
        self, customer_ids: CustomerIds = None, start: Moment | None = None, end: Moment | None = None
    ) -> pd.DataFrame:
        """Return each customer's score history: per closed UTC day from `start` to `end` (default: the 90 days up
        to yesterday) its score, tier, coverage, each factor's score and the configuration the day was scored under,
        by customer and day. Days the server has not written yet are absent."""
        ids = _customer_ids(customer_ids)
        first, last = _days_between(start, end, utc_now().date() - dt.timedelta(days=1), DEFAULT_DAYS - 1)
        with self._connect() as conn:
            self._check_known(conn, ids)
            raw = frames.history(conn, ids, first, last)
        frame = raw.astype({"customer_id": "Int64", "config_id": "Int64"})
        frame["day"] = pd.to_datetime(frame["day"]).dt.tz_localize(UTC).dt.as_unit("us")
        frame["tier"] = frame["tier"].astype(_CATEGORIES["tier"])
        for name in _SCORES:
            frame[name] = frame[name].astype("Float64")  # a factor that did not apply that day: <NA>
        return frame

    def changes(
        self, customer_ids: CustomerIds = None, start: Moment | None = None, end: Moment | None = None
    ) -> pd.DataFrame:
        """Return what moved each customer's score from the end of `start` to the end of `end` (default: 30 days
        before today to today), each day under its own configuration: one row per reason (a factor, a change of
        configuration or of coverage), largest first, whose points add up to the customer's movement."""
        ids = _customer_ids(customer_ids)
        first, last = _days_between(start, end, utc_now().date(), CHANGES_DAYS)
        if ids:
            with self._connect() as conn:
                self._check_known(conn, ids)
        found = HistoryReports(self.engine, self.config).changes_of(ids, first, last)
        rows = [
            {
                "customer_id": customer_id,
                "score_then": change.score_then,
                "score_now": change.score_now,
                "movement": change.movement,
                "tier_then": change.tier_then,
                "tier_now": change.tier_now,
                "kind": line.kind,
                "factor": line.key if line.kind == "factor" else None,
                "label": line.label,
                "points": line.points,
                "factor_then": line.score_then,
                "factor_now": line.score_now,
                "sentence": line.sentence,
                "signals_then": line.raw_then,
                "signals_now": line.raw_now,
            }
            for customer_id, change in found.items()
            for line in change.lines
        ]
        frame = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
        frame["customer_id"] = frame["customer_id"].astype("Int64")
        for name in ("score_then", "score_now", "movement", "points", "factor_then", "factor_now"):
            frame[name] = pd.array(frame[name].tolist(), dtype="Float64")
        for name in ("tier_then", "tier_now"):
            frame[name] = frame[name].astype(_CATEGORIES["tier"])
        frame["kind"] = frame["kind"].astype(_LINE_KINDS["kind"])
        frame["factor"] = frame["factor"].astype(_CATEGORIES["main_reason"])
        for name in ("label", "sentence"):
            frame[name] = frame[name].astype("string")
        frame.attrs.update(start=first.isoformat(), end=last.isoformat())
        return frame

    def backtest(
        self, start: Moment | None = None, end: Moment | None = None, horizon: int = 90, lead: int = 30
    ) -> pd.DataFrame:
        """Return how well the score history foretold churn (docs/outcomes.md): the churn rate per 10-point score
        band (calibration), one row per band; the headline figures (precision, recall, lift, ROC AUC, median lead
        days, ARR flagged ahead, each factor's AUC) and the suggested weights in `attrs`. Days from `start` to `end`
        (default: the last 180 days whose horizon has passed) are judged: was the customer flagged that day, did it
        churn within `horizon` days; a flag counts as in time `lead` days or more before the churn."""
        for name, value, low, high in (("horizon", horizon, 1, 730), ("lead", lead, 0, horizon)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name}: expected a whole number of days from {low} to {high}, got {value!r}")
        first = _day(_moment("start", start, end_of_day=False))
        last = _day(_moment("end", end, end_of_day=True))
        if first is not None and last is not None and first > last:
            raise ValueError(f"start ({first}) is after end ({last}); swap them")
        report = HealthService(self.engine, self.config).backtest_report(first, last, horizon, lead)
        figures = report["figures"]
        frame = pd.DataFrame(figures["calibration"], columns=["low", "high", "customers_days", "churned", "churn_rate"])
        frame = frame.astype({"low": "Int64", "high": "Int64", "customers_days": "Int64", "churned": "Int64"})
        frame["churn_rate"] = pd.array(frame["churn_rate"].tolist(), dtype="Float64")
        headline = {k: v for k, v in figures.items() if k not in ("calibration", "roc")}
        frame.attrs.update(
            start=report["from"].isoformat(),
            end=report["to"].isoformat(),
            horizon=horizon,
            lead=lead,
            figures=headline,
            roc=figures["roc"],
            current_weights=report["current_weights"],
            suggested=report["suggested"],
        )
        return frame

    def _connect(self) -> Connection:
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    @staticmethod
    def _check_known(conn: Connection, ids: list[int] | None) -> None:
        unknown = frames.unknown_customers(conn, ids) if ids else []
        if unknown:
            shown = ", ".join(str(i) for i in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            raise ValueError(f"customer_ids: no customer with id {shown}")


def connect(database_url: str | None = None, config: ScoringConfig | None = None) -> Session:
    """Open a session over a database: `database_url`, else the one healthdash is configured to use."""
    from healthdash.db.database import resolve_database_url
    from healthdash.settings import get_settings, normalise_database_url

    settings = get_settings()
    if database_url:
        try:
            url = normalise_database_url(database_url)
        except ValueError as exc:
            raise ValueError(f"database_url: {exc}".replace("DATABASE_URL ", "")) from None
    elif settings.database_url is None and os.environ.get(API_URL_VARIABLE, "").strip():
        # `make lab` pointed at a server: the embedded database here would be other data than the server's
        raise RuntimeError(
            f"healthdash.analysis reads a database, and {API_URL_VARIABLE} names a server but DATABASE_URL is not set: "
            "set DATABASE_URL to that server's database, or read its API with "
            "healthdash.client.ApiClient.from_environment()"
        )
    else:
        url = resolve_database_url(settings.database_url, settings.data_dir)
    return Session(make_engine(url, pool_size=2), config or settings.scoring)


_sessions: dict[str | None, Session] = {}
_sessions_lock = threading.Lock()


def session(database_url: str | None = None) -> Session:
    """Return this process's session over a database (opened on first use, then reused)."""
    with _sessions_lock:
        if database_url not in _sessions:
            _sessions[database_url] = connect(database_url)
        return _sessions[database_url]


def customers(customer_ids: CustomerIds = None) -> pd.DataFrame:
    """Return every customer's (or the given ones') profile, indexed by id (see `Session.customers`)."""
    return session().customers(customer_ids)


def scores(
    as_of: Moment | None = None,
    config: ScoringConfig | Mapping[str, Any] | None = None,
    database_url: str | None = None,
) -> pd.DataFrame:
    """Return every customer's scores with each factor's score, points and points lost (see `Session.scores`)."""
    return session(database_url).scores(as_of, config)


def customer_breakdown(customer_id: int, as_of: Moment | None = None, database_url: str | None = None) -> pd.DataFrame:
    """Return one customer's factor breakdown, one row per factor (see `Session.customer_breakdown`)."""
    return session(database_url).customer_breakdown(customer_id, as_of)


def events(
    customer_ids: CustomerIds = None,
    start: Moment | None = None,
    end: Moment | None = None,
    types: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """Return raw events by customer and time (see `Session.events`)."""
    return session().events(customer_ids, start, end, types)


def activity(customer_ids: CustomerIds = None, start: Moment | None = None, end: Moment | None = None) -> pd.DataFrame:
    """Return daily logins, feature uses, features used and API calls (see `Session.activity`)."""
    return session().activity(customer_ids, start, end)


def history(customer_ids: CustomerIds = None, start: Moment | None = None, end: Moment | None = None) -> pd.DataFrame:
    """Return the score history per customer and closed day (see `Session.history`)."""
    return session().history(customer_ids, start, end)


def changes(customer_ids: CustomerIds = None, start: Moment | None = None, end: Moment | None = None) -> pd.DataFrame:
    """Return what moved each customer's score between two days, reason by reason (see `Session.changes`)."""
    return session().changes(customer_ids, start, end)


def backtest(start: Moment | None = None, end: Moment | None = None, horizon: int = 90, lead: int = 30) -> pd.DataFrame:
    """Return how well the score history foretold churn, by score band, headline figures in attrs (see
    `Session.backtest`)."""
    return session().backtest(start, end, horizon, lead)


def tickets(customer_ids: CustomerIds = None, start: Moment | None = None, end: Moment | None = None) -> pd.DataFrame:
    """Return support tickets (see `Session.tickets`)."""
    return session().tickets(customer_ids, start, end)


def invoices(customer_ids: CustomerIds = None, start: Moment | None = None, end: Moment | None = None) -> pd.DataFrame:
    """Return invoices with their status (see `Session.invoices`)."""
    return session().invoices(customer_ids, start, end)


# --- arguments -------------------------------------------------------------------------------------------------


def _customer_ids(value: CustomerIds) -> list[int] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, int | str) else value
    try:
        ids = list(values)
    except TypeError:
        raise ValueError(f"customer_ids: expected an id or ids, got {type(value).__name__}") from None
    for item in ids:
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= MAX_ID:
            raise ValueError(f"customer_ids: {item!r} is not a customer id (a whole number from 1)")
    return sorted(set(ids))


def _moment(name: str, value: Moment | None, end_of_day: bool) -> dt.datetime | None:
    """Return an aware UTC moment; a day alone means its first moment (or its last, for an end)."""
    if value is None:
        return None
    if not isinstance(value, str | dt.date):
        raise ValueError(f"{name}: expected an ISO date or timestamp, a date or a datetime, got {type(value).__name__}")
    try:
        moment = resolve_as_of(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}".replace("as_of ", "")) from None
    day_only = len(value.strip()) == 10 if isinstance(value, str) else not isinstance(value, dt.datetime)
    if not day_only:
        return moment
    return dt.datetime.combine(moment.date(), dt.time.max if end_of_day else dt.time(), tzinfo=UTC)


def _moments(
    start: Moment | None, end: Moment | None, default_days: int | None
) -> tuple[dt.datetime | None, dt.datetime]:
    low = _moment("start", start, end_of_day=False)
    high = _moment("end", end, end_of_day=True) or utc_now()
    if low is None and default_days is not None:
        low = dt.datetime.combine(high.date() - dt.timedelta(days=default_days - 1), dt.time(), tzinfo=UTC)
    if low is not None and low > high:
        raise ValueError(f"start ({low:%Y-%m-%d %H:%M}) is after end ({high:%Y-%m-%d %H:%M}); swap them")
    return low, high


def _days_between(
    start: Moment | None, end: Moment | None, default_end: dt.date, default_days: int
) -> tuple[dt.date, dt.date]:
    """Return the UTC days from `start` to `end`; without `end` default_end, without `start` default_days earlier."""
    high = _moment("end", end, end_of_day=True)
    last = high.astimezone(UTC).date() if high else default_end
    low = _moment("start", start, end_of_day=False)
    first = low.astimezone(UTC).date() if low else last - dt.timedelta(days=default_days)
    if first > last:
        raise ValueError(f"start ({first}) is after end ({last}); swap them")
    return first, last


def _day(moment: dt.datetime | None) -> dt.date | None:
    return None if moment is None else moment.astimezone(UTC).date()


def _event_types(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    kinds = [value] if isinstance(value, str) else list(value)
    for kind in kinds:
        if kind not in EVENT_TYPES:
            raise ValueError(f"types: unknown event type {kind!r}; known: {', '.join(EVENT_TYPES)}")
    return kinds


def _scoring_config(value: ScoringConfig | Mapping[str, Any] | None, default: ScoringConfig) -> ScoringConfig:
    if value is None:
        return default
    if isinstance(value, ScoringConfig):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"config: expected a ScoringConfig or a mapping of settings, got {type(value).__name__}")
    try:
        return ScoringConfig.from_mapping({**default.as_mapping(), **value})
    except ConfigError as exc:
        raise ValueError(f"config: {exc}") from None


# --- frames ----------------------------------------------------------------------------------------------------


def _frame(
    columns: frames.Columns,
    names: Sequence[str],
    timestamps: Sequence[str] = (),
    days: Sequence[str] = (),
    kinds: Mapping[str, pd.CategoricalDtype] | None = None,
) -> pd.DataFrame:
    """Return the columns as a frame: UTC timestamps, days as UTC midnights, categories, nullable numbers."""
    categories = {**_CATEGORIES, **(kinds or {})}
    frame = pd.DataFrame({name: columns[name] for name in names}, columns=list(names))
    for name in names:
        if name in timestamps:
            frame[name] = pd.to_datetime(frame[name], utc=True).dt.as_unit("us")  # PostgreSQL's resolution
        elif name in days:
            frame[name] = pd.to_datetime(frame[name]).dt.tz_localize(UTC).dt.as_unit("us")
        elif name in categories:
            frame[name] = frame[name].astype(categories[name])
        elif name == "id":  # never missing: a plain index, as Parquet gives it back
            frame[name] = frame[name].astype("int64")
        elif name in ("customer_id", "seats", "logins", "feature_uses", "features_used", "api_calls"):
            frame[name] = frame[name].astype("Int64")
        elif name in ("name", "subject", "owner"):
            frame[name] = frame[name].astype("string")
    return frame


def _profiles(columns: frames.Columns) -> pd.DataFrame:
    frame = _frame(columns, frames.CUSTOMER_COLUMNS, timestamps=("created_at",), days=("renewal_date",)).set_index("id")
    frame["industry"] = frame["industry"].astype("category")
    frame["external_id"] = frame["external_id"].astype("string")
    frame["arr"] = frame["arr"].astype("Float64")
    return frame


def _score_frame(table: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
    numbers = [
        c for c in table.columns if c not in (*_PROFILE, "status", "arr_cents", "renewal_day", "tier", "main_reason")
    ]
    frame = profiles.reindex(table.index).loc[:, list(_PROFILE)]
    for name in numbers:
        frame[name] = table[name].astype(float).astype("Float64")  # NaN (a factor that does not apply) -> <NA>
    frame["tier"] = table["tier"].astype(_CATEGORIES["tier"])
    frame["main_reason"] = table["main_reason"].astype(_CATEGORIES["main_reason"])
    frame.index = frame.index.astype("int64")
    frame.index.name = "id"
    return frame
