"""The score history's SQL: scoring configurations, written days, history rows and the customers to score again.

One instance at a time writes history: the writer holds a transaction-level advisory lock (`claim_writer`) for each
unit of work, and every unit is one transaction, so that a writer killed at any point leaves whole days or nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from healthdash.scoring import FACTOR_KEYS, TIERS

WRITER_LOCK = 72_640_332  # advisory lock key held by the one instance writing history
ROW_COLUMNS = ("customer_id", "day", "score", "coverage", *FACTOR_KEYS, "config_id", "tier")


@dataclass(frozen=True)
class HistoryRows:
    """Customers' scores for one day, as columns (one element per customer), under one configuration."""

    day: dt.date
    config_id: int
    ids: np.ndarray
    score: np.ndarray
    coverage: np.ndarray
    tier: np.ndarray
    factors: Mapping[str, np.ndarray]

    def copy_records(self) -> bytes:
        """Return the rows as the tuples of a binary COPY into the staging table (no header, no trailer).

        Every field has a fixed width, so that numpy lays out all rows at once: an unknown score or factor travels
        as NaN (the staging table's NULL), the tier as its position in TIERS.
        """
        records = np.empty(len(self.ids), dtype=_STAGED_RECORD)
        records["fields"] = len(ROW_COLUMNS)
        for column in ROW_COLUMNS:
            records[f"{column}_size"] = _STAGED_RECORD[column].itemsize
        records["customer_id"] = self.ids
        records["day"] = (self.day - _POSTGRES_EPOCH).days
        records["score"] = self.score
        records["coverage"] = self.coverage
        for key in FACTOR_KEYS:
            records[key] = self.factors[key]
        records["config_id"] = self.config_id
        records["tier"] = _tier_codes(self.tier)
        return records.tobytes()


_POSTGRES_EPOCH = dt.date(2000, 1, 1)  # a date travels in binary COPY as days since this one
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # the signature, no flags, no header extension
_COPY_TRAILER = b"\xff\xff"
# The staging table's columns that are not real (float4), in binary COPY and in SQL.
_STAGED_TYPES = {"customer_id": ">i8", "day": ">i4", "config_id": ">i2", "tier": ">i2"}
_STAGED_SQL = {"customer_id": "bigint", "day": "date", "config_id": "smallint", "tier": "smallint"}
_STAGED_RECORD = np.dtype(
    [("fields", ">i2")]
    + [
        part
        for column in ROW_COLUMNS
        for part in ((f"{column}_size", ">i4"), (column, _STAGED_TYPES.get(column, ">f4")))
    ]
)
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS history_staged ("
    + ", ".join(f"{column} {_STAGED_SQL.get(column, 'real')}" for column in ROW_COLUMNS)
    + ") ON COMMIT DELETE ROWS"
)


def _unstaged(column: str) -> str:
    """Return a staged column as the table's: NaN back to NULL, the tier's position back to its name."""
    if column == "tier":
        return f"(ARRAY[{', '.join(repr(t) for t in TIERS)}])[tier + 1]"
    return column if column in _STAGED_TYPES else f"nullif({column}, 'NaN')"


def _tier_codes(tiers: np.ndarray) -> np.ndarray:
    """Return each tier's position in TIERS (-1 for none: the staged row then breaks the table's NOT NULL)."""
    codes = np.full(len(tiers), -1, dtype=np.int16)
    for code, tier in enumerate(TIERS):
        codes[np.asarray(tiers) == tier] = code
    return codes


def record_config(conn: Connection, fingerprint: str, settings: Mapping[str, Any]) -> int:
    """Store a scoring configuration unless one with this fingerprint is known; return its id."""
    conn.execute(
        text(
            "INSERT INTO scoring_configs (hash, settings) VALUES (:hash, CAST(:settings AS jsonb)) "
            "ON CONFLICT (hash) DO NOTHING"
        ),
        {"hash": fingerprint, "settings": json.dumps(settings, sort_keys=True)},
    )
    found = conn.execute(text("SELECT id FROM scoring_configs WHERE hash = :hash"), {"hash": fingerprint})
    return int(found.scalar_one())


def config_settings(conn: Connection, config_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Return the settings of the given configurations, by id."""
    rows = conn.execute(
        text("SELECT id, settings FROM scoring_configs WHERE id = ANY(CAST(:ids AS smallint[]))"),
        {"ids": sorted({int(i) for i in config_ids})},
    )
    return {int(config_id): dict(settings) for config_id, settings in rows}


def claim_writer(conn: Connection, wait: bool) -> bool:
    """Take the writer's lock until the current transaction ends; without `wait`, give up if another holds it."""
    if wait:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK})
        return True
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": WRITER_LOCK}).scalar_one())


def written_days(conn: Connection, first: dt.date, last: dt.date) -> dict[dt.date, int]:
    """Return the written days from `first` to `last`, with the configuration each was scored under."""
    rows = conn.execute(
        text("SELECT day, config_id FROM score_history_days WHERE day BETWEEN :first AND :last"),
        {"first": first, "last": last},
    )
    return {day: int(config_id) for day, config_id in rows}


def day_scores(conn: Connection, day: dt.date, fingerprint: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Return every customer's score of a written day (ids ascending, NaN for too little data) if the day was scored
    under the configuration with this fingerprint and no customer's history of it waits to be restated; else None."""
    usable = conn.execute(
        text(
            "SELECT EXISTS (SELECT FROM score_history_days d JOIN scoring_configs c ON c.id = d.config_id"
            "               WHERE d.day = :day AND c.hash = :hash)"
            "   AND NOT EXISTS (SELECT FROM score_history_stale WHERE since <= :day)"
        ),
        {"day": day, "hash": fingerprint},
    ).scalar_one()
    if not usable:
        return None
    query = f"SELECT customer_id, score FROM score_history WHERE day = DATE '{day.isoformat()}' ORDER BY customer_id"  # noqa: S608
    frame = _copy_frame(conn, query, {"customer_id": np.int64, "score": np.float64})
    # stored as a real: the score's tenths come back exactly once rounded again
    return frame["customer_id"].to_numpy(), frame["score"].to_numpy().round(1)


def mark_written(conn: Connection, day: dt.date, config_id: int) -> None:
    """List a day as written under a configuration."""
    conn.execute(
        text(
            "INSERT INTO score_history_days (day, config_id) VALUES (:day, :config) "
            "ON CONFLICT (day) DO UPDATE SET config_id = EXCLUDED.config_id, written_at = now()"
        ),
        {"day": day, "config": config_id},
    )


def write_day_rows(conn: Connection, rows: HistoryRows) -> int:
    """Write the rows of a day not written yet (replacing any left without its day listed); return the count.

    A plain insert: the upsert's look for a conflict in the key index costs as much again for a whole day.
    """
    if not _stage(conn, [rows]):
        return 0
    conn.execute(text("DELETE FROM score_history WHERE day = :day"), {"day": rows.day})
    result = conn.execute(text(f"{_INSERT_STAGED} ORDER BY customer_id"))
    return int(result.rowcount)


def write_rows(conn: Connection, days: Sequence[HistoryRows]) -> int:
    """Write (or overwrite) history rows of any days and customers with one COPY and one upsert; return the count."""
    if not _stage(conn, days):
        return 0
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ROW_COLUMNS[2:])
    result = conn.execute(
        text(f"{_INSERT_STAGED} ORDER BY customer_id, day ON CONFLICT (customer_id, day) DO UPDATE SET {updates}")
    )
    return int(result.rowcount)


_INSERT_STAGED = (
    f"INSERT INTO score_history ({', '.join(ROW_COLUMNS)}) "  # noqa: S608
    f"SELECT {', '.join(map(_unstaged, ROW_COLUMNS))} FROM history_staged"
)


def _stage(conn: Connection, days: Sequence[HistoryRows]) -> int:
    """Copy rows into the transaction's staging table in PostgreSQL's binary COPY format, laid out by numpy (no
    number turned into text and back); return how many."""
    records = [rows.copy_records() for rows in days if len(rows.ids)]
    if not records:
        return 0
    conn.execute(text(_STAGE))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        data = io.BytesIO(b"".join([_COPY_HEADER, *records, _COPY_TRAILER]))
        cursor.copy_expert(f"COPY history_staged ({', '.join(ROW_COLUMNS)}) FROM STDIN WITH (FORMAT binary)", data)
    finally:
        cursor.close()
    return sum(len(rows.ids) for rows in days)


def add_months(conn: Connection, first: dt.date, last: dt.date) -> int:
    """Add the month partitions of the history that the days from `first` to `last` need; return how many."""
    return int(
        conn.execute(
            text("SELECT score_history_add_months(:first, :last)"), {"first": first, "last": last}
        ).scalar_one()
    )


def take_stale(conn: Connection) -> dict[int, dt.date]:
    """Remove and return the customers whose history must be scored again, with the day from which it must be."""
    rows = conn.execute(text("DELETE FROM score_history_stale RETURNING customer_id, since"))
    return {int(customer_id): since for customer_id, since in rows}


def any_stale(conn: Connection) -> bool:
    """Tell whether some customer's history waits to be scored again."""
    return conn.execute(text("SELECT EXISTS (SELECT 1 FROM score_history_stale)")).scalar_one() is True


_CUSTOMER_DAYS = text(
    f"SELECT day, score, tier, coverage, {', '.join(FACTOR_KEYS)} FROM score_history "  # noqa: S608
    "WHERE customer_id = :customer AND day BETWEEN :first AND :last ORDER BY day"
)


def customer_days(conn: Connection, customer_id: int, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Return one customer's history rows from `first` to `last`, oldest first."""
    result = conn.execute(_CUSTOMER_DAYS, {"customer": customer_id, "first": first, "last": last})
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result.all()]


def tier_counts(conn: Connection, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Return how many customers were in each tier on each written day from `first` to `last`: columns `day` (ISO
    text), `tier` and `customers`, aggregated by PostgreSQL (a few hundred rows for any number of customers)."""
    query = (
        "SELECT day, tier, count(*) AS customers FROM score_history "  # noqa: S608
        f"WHERE day BETWEEN DATE '{first.isoformat()}' AND DATE '{last.isoformat()}' GROUP BY day, tier"
    )
    return _copy_frame(conn, query, {"day": object, "tier": object})


def last_days_at_best(conn: Connection, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Return, for each customer with history from `first` to `last`, the last day (in days after `first`, empty when
    never) it was in each real tier or a better one: columns `customer_id`, then one per tier but the last of TIERS
    (too little data ranks with no tier)."""
    ranked = TIERS[:-1]
    columns = ", ".join(
        f"max(day - DATE '{first.isoformat()}') FILTER (WHERE tier IN ({', '.join(repr(t) for t in ranked[: i + 1])}))"
        f" AS {tier}"
        for i, tier in enumerate(ranked)
    )
    query = (
        f"SELECT customer_id, {columns} FROM score_history "  # noqa: S608
        f"WHERE day BETWEEN DATE '{first.isoformat()}' AND DATE '{last.isoformat()}' GROUP BY customer_id"
    )
    return _copy_frame(conn, query, {})


def rows_of_days(conn: Connection, days: Sequence[dt.date]) -> pd.DataFrame:
    """Return every customer's history row of the given days (columns of the table but `config_id`)."""
    listed = ", ".join(f"DATE '{day.isoformat()}'" for day in days)
    columns = ", ".join(c for c in ROW_COLUMNS if c != "config_id")
    query = f"SELECT {columns} FROM score_history WHERE day IN ({listed})"  # noqa: S608
    return _copy_frame(conn, query, {"tier": object, "day": object})


def _copy_frame(conn: Connection, query: str, dtype: dict[str, Any]) -> pd.DataFrame:
    buffer = io.BytesIO()
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)", buffer)
    finally:
        cursor.close()
    buffer.seek(0)
    return pd.read_csv(buffer, keep_default_na=False, na_values=[""], dtype=dtype)
