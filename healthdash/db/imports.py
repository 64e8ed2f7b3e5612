"""Loading a CSV file of customers or events with COPY, in one transaction: all of it or, at the first bad row
(checked by healthdash.csv_import, or an unknown customer, a taken external_id or an outcome the customer's record
refuses), nothing.

Activity events go with COPY into a staging table, chunk by chunk as they are checked, and from there into `events`
with one statement at the end, sorted by customer and time: the triggers on `events` (the daily rollup, the
notification of every instance, the score history's stale days) then run once for the whole file, with one upsert per
customer and day, and the rows reach the index on (customer, time) in its order. Outcomes (churned, renewed,
arr_changed) change the customer's record: they are recorded one by one in the file's order, in the same transaction
and by the same rules as the API's.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from healthdash.csv_import import BadRow, check_customers, check_events, check_header, kind_of, outcome_data
from healthdash.db.generator import progress_bar
from healthdash.db.writes import record_event
from healthdash.recording import EventRejected
from healthdash.vocabulary import OUTCOME_TYPES

CHUNK_ROWS = 200_000
_UNKNOWN = text(
    "SELECT i FROM unnest(CAST(:ids AS bigint[])) AS i WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = i)"
)
_TAKEN = text("SELECT external_id FROM customers WHERE external_id = ANY(CAST(:keys AS text[]))")
# The activity of the file as it is checked, its data still in the file's columns (text, empty when not given).
_STAGE = text(
    "CREATE TEMPORARY TABLE import_events (line bigint, customer_id bigint, type text, occurred_at timestamptz, "
    '"user" text, feature text, count text) ON COMMIT DROP'
)
_STAGED = ("customer_id", "type", "occurred_at", "user", "feature", "count")  # after the line
_COPY_STAGED = 'COPY import_events (line, customer_id, type, occurred_at, "user", feature, count) FROM STDIN'
# COPY's text format: a backslash, a tab, a line feed or a carriage return inside a value is written escaped
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
# One statement for all of it, so that the triggers on events run once; a type's data as the API stores it. A
# customer's activity of one moment keeps the file's order in its ids, as when recorded one by one (the outcomes,
# recorded as they are checked, come before it).
_INSERT_STAGED = text(
    """
    INSERT INTO events (customer_id, type, occurred_at, data)
    SELECT customer_id, type, occurred_at,
           CASE WHEN type = 'login' AND "user" <> '' THEN jsonb_build_object('user', "user")
                WHEN type = 'feature_use' THEN jsonb_build_object('feature', feature)
                WHEN type = 'api_call' THEN jsonb_build_object('count', CAST(count AS bigint))
                ELSE '{}'::jsonb END
      FROM import_events
     ORDER BY customer_id, occurred_at, line
    """
)
# For that statement, for the rest of the import's transaction only: memory for its sort of the file's rows and the
# triggers' tables of them (a million events take about 100 MB to sort), in memory rather than in temporary files;
# and no limit to its time, which grows with the file (a million events take 10 to 30 s on two busy cores), while a
# wait for a lock stays bounded by the connection's statement timeout.
_LOAD_SETTINGS = (
    text("SET LOCAL work_mem = '256MB'"),
    text("SELECT set_config('lock_timeout', current_setting('statement_timeout'), true)"),
    text("SET LOCAL statement_timeout = 0"),
)
_DEFAULTS = {"industry": "other", "region": "emea", "arr": "0"}


@dataclass(frozen=True)
class Imported:
    kind: str
    rows: int


def import_csv(engine: Engine, path: Path, progress: TextIO | None = None, keep: bool = True) -> Imported:
    """Load a file of customers or events (told apart by its header); raise BadRow and store nothing if a row is bad.

    `keep=False` rolls the load back at the end (to measure it without changing the data).
    """
    with path.open("rb") as counting:
        total = max(sum(block.count(b"\n") for block in iter(lambda: counting.read(1 << 20), b"")) - 1, 0)
    header = list(pd.read_csv(path, nrows=0, dtype=str).columns)
    kind = kind_of(header)
    check_header(header, kind)
    rows = 0
    with engine.connect() as conn, conn.begin() as transaction, progress_bar(total, f"import {kind}", progress) as bar:
        catalogue = {r[0] for r in conn.execute(text("SELECT key FROM features"))}
        if kind == "events":
            conn.execute(_STAGE)
        for first_line, chunk in _checked(path, kind, catalogue):
            if kind == "events":
                _known_customers(conn, chunk, first_line)
                outcomes = chunk["type"].isin(sorted(OUTCOME_TYPES))
                _stage(conn, chunk[~outcomes], first_line)
                _record_outcomes(conn, chunk[outcomes], first_line)
            else:
                _free_external_ids(conn, chunk, first_line)
                _copy(conn, f"customers ({', '.join(_customer_rows(chunk).columns)})", _customer_rows(chunk))
            rows += len(chunk)
            bar.update(len(chunk))
        if kind == "events":
            bar.set_postfix_str("storing the activity", refresh=True)
            for setting in _LOAD_SETTINGS:
                conn.execute(setting)
            conn.execute(_INSERT_STAGED)
        if not keep:
            transaction.rollback()
    return Imported(kind, rows)


def _chunks(path: Path) -> Generator[tuple[int, pd.DataFrame], None, None]:
    line = 2
    with pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], chunksize=CHUNK_ROWS) as reader:
        for chunk in reader:
            yield line, chunk.reset_index(drop=True)
            line += len(chunk)


def _checked(path: Path, kind: str, catalogue: set[str]) -> Iterator[tuple[int, pd.DataFrame]]:
    """The file's chunks, each read and checked in a thread of its own while the caller loads the one before (the
    parser and the checks leave Python's lock while they work); a bad row is raised when the caller reaches its
    chunk, after every row before it has been loaded, so the first bad row of the file is the one named."""
    chunks = _chunks(path)

    def read_and_check() -> tuple[int, pd.DataFrame] | None:
        item = next(chunks, None)
        if item is not None:
            first_line, chunk = item
            if kind == "events":
                check_events(chunk, first_line, catalogue)
            else:
                check_customers(chunk, first_line)
        return item

    try:
        with ThreadPoolExecutor(max_workers=1) as reader:
            ahead = reader.submit(read_and_check)
            while (item := ahead.result()) is not None:
                ahead = reader.submit(read_and_check)
                yield item
    finally:
        chunks.close()  # the file, once the thread has let go of it


def _known_customers(conn: Connection, chunk: pd.DataFrame, first_line: int) -> None:
    ids = chunk["customer_id"].astype(np.int64)
    given = "{" + ",".join(map(str, sorted({int(i) for i in ids.unique()}))) + "}"  # an array's text: quick to send
    unknown = {int(i) for i in conn.execute(_UNKNOWN, {"ids": given}).scalars()}
    if unknown:
        row = int(np.flatnonzero(ids.isin(sorted(unknown)).to_numpy())[0])
        raise BadRow(first_line + row, "customer_id", f"there is no customer with id {ids.iloc[row]}")


def _free_external_ids(conn: Connection, chunk: pd.DataFrame, first_line: int) -> None:
    if "external_id" not in chunk:
        return
    keys = chunk["external_id"]
    taken = {str(k) for k in conn.execute(_TAKEN, {"keys": sorted(set(keys[keys.ne("")]))}).scalars()}
    if taken:
        row = int(np.flatnonzero(keys.isin(sorted(taken)).to_numpy())[0])
        raise BadRow(first_line + row, "external_id", f"another customer has external_id {keys.iloc[row]!r}")


def _record_outcomes(conn: Connection, rows: pd.DataFrame, first_line: int) -> None:
    for position, row in zip(rows.index, rows.to_dict("records"), strict=True):
        occurred_at = dt.datetime.fromisoformat(row["occurred_at"].upper()).astimezone(dt.UTC)
        try:
            record_event(conn, int(row["customer_id"]), row["type"], occurred_at, outcome_data(row))
        except EventRejected as exc:
            column = exc.field.removeprefix("data.")
            raise BadRow(first_line + int(position), column if column in row else "type", str(exc)) from None


def _stage(conn: Connection, chunk: pd.DataFrame, first_line: int) -> None:
    """COPY checked activity rows with their lines into the staging table, in COPY's text format."""
    lines = (chunk.index.to_numpy() + first_line).astype(str).tolist()
    columns = [lines, *(_column_values(chunk, name).tolist() for name in _STAGED)]
    buffer = io.StringIO("".join(line + "\n" for line in map("\t".join, zip(*columns, strict=True))))
    cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(_COPY_STAGED, buffer)
    finally:
        cursor.close()


def _column_values(chunk: pd.DataFrame, name: str) -> pd.Series:
    if name not in chunk:
        return pd.Series("", index=chunk.index, dtype=object)
    values = chunk[name]
    if name == "user":  # the only free text: the others are checked digits, words, timestamps and catalogue keys
        for character, escaped in _ESCAPES:
            values = values.str.replace(character, escaped, regex=False)
    return values


def _customer_rows(chunk: pd.DataFrame) -> pd.DataFrame:
    rows = chunk.copy()
    rows["name"] = rows["name"].str.strip()
    for column, default in _DEFAULTS.items():
        rows[column] = rows[column].where(rows[column].ne(""), default) if column in rows else default
    return rows


def _copy(conn: Connection, target: str, rows: pd.DataFrame) -> None:
    buffer = io.StringIO()
    rows.to_csv(buffer, header=False, index=False)
    buffer.seek(0)
    cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(f"COPY {target} FROM STDIN WITH (FORMAT csv)", buffer)
    finally:
        cursor.close()
