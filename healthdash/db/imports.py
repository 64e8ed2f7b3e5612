"""Loading a CSV file of customers or events with COPY, in one transaction: all of it or, at the first bad row
(checked by healthdash.csv_import, or an unknown customer, a taken external_id or an outcome the customer's record
refuses), nothing.

Activity events go in with COPY. Outcomes (churned, renewed, arr_changed) change the customer's record: they are
recorded one by one in the file's order, in the same transaction and by the same rules as the API's.

The triggers run once per COPY of a chunk: the daily rollup, the notification of every instance (a large load tells
them to read everything again) and the score history's stale days.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
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
_DEFAULTS = {"industry": "other", "region": "emea", "arr": "0"}
_PLAIN_JSON = r'[^"\\\x00-\x1f]*'  # text that JSON writes as it is, between quotes


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
        for first_line, chunk in _chunks(path):
            if kind == "events":
                check_events(chunk, first_line, catalogue)
                _known_customers(conn, chunk, first_line)
                outcomes = chunk["type"].isin(sorted(OUTCOME_TYPES))
                _copy(conn, "events (customer_id, type, occurred_at, data)", _event_rows(chunk[~outcomes]))
                _record_outcomes(conn, chunk[outcomes], first_line)
            else:
                check_customers(chunk, first_line)
                _free_external_ids(conn, chunk, first_line)
                _copy(conn, f"customers ({', '.join(_customer_rows(chunk).columns)})", _customer_rows(chunk))
            rows += len(chunk)
            bar.update(len(chunk))
        if not keep:
            transaction.rollback()
    return Imported(kind, rows)


def _chunks(path: Path) -> Iterator[tuple[int, pd.DataFrame]]:
    line = 2
    reader = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], chunksize=CHUNK_ROWS)
    for chunk in reader:
        yield line, chunk.reset_index(drop=True)
        line += len(chunk)


def _known_customers(conn: Connection, chunk: pd.DataFrame, first_line: int) -> None:
    ids = chunk["customer_id"].astype(np.int64)
    unknown = {int(i) for i in conn.execute(_UNKNOWN, {"ids": sorted({int(i) for i in ids.unique()})}).scalars()}
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


def _event_rows(chunk: pd.DataFrame) -> pd.DataFrame:
    kind = chunk["type"]
    data = pd.Series("{}", index=chunk.index, dtype=object)
    if "user" in chunk:
        users = chunk["user"].ne("")
        plain = users & chunk["user"].str.fullmatch(_PLAIN_JSON, na=False)  # as json.dumps writes them, unescaped
        data[plain] = '{"user": "' + chunk["user"][plain] + '"}'
        quoted = users & ~plain
        data[quoted] = [json.dumps({"user": u}, ensure_ascii=False) for u in chunk["user"][quoted]]
    if "feature" in chunk:
        uses = kind.eq("feature_use")
        data[uses] = '{"feature": "' + chunk["feature"][uses] + '"}'  # catalogue keys need no escaping
    if "count" in chunk:
        calls = kind.eq("api_call")
        data[calls] = '{"count": ' + chunk["count"][calls] + "}"
    return pd.DataFrame(
        {"customer_id": chunk["customer_id"], "type": kind, "occurred_at": chunk["occurred_at"], "data": data}
    )


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
