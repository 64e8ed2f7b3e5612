"""Checking a CSV file of customers or activity events before it is loaded: column by column, without a Python
object per row, naming the first bad row by its line and column.

Events: `customer_id`, `type` (the activity, login, feature_use or api_call, or an outcome, churned, renewed or
arr_changed), `occurred_at` (a timestamp with its offset), and the type's data as columns of their own: `user` (a
login's, optional), `feature` (a feature use's key), `count` (an api_call's calls), `reason` and `note` (a churn's
reason and optional note), `renewal_date` (a renewal's next renewal day) and `arr` (a renewal's ARR, optional, or an
ARR change's new ARR). Customers: `name`, `segment`, `plan`,
`seats`, and optionally `industry`, `region`, `owner`, `external_id`, `arr` and `renewal_date`. Line 1 is the header;
the first row is line 2.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal

import numpy as np
import pandas as pd

from healthdash.clock import UTC, utc_now
from healthdash.vocabulary import (
    CHURN_REASONS,
    EARLIEST_DAY,
    EXTERNAL_ID_PATTERN,
    FEATURE_KEY_PATTERN,
    LATEST_DAY,
    MAX_AMOUNT,
    MAX_API_CALLS,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_FUTURE,
    MAX_ID,
    MAX_NAME_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_SEATS,
    MAX_USER_LENGTH,
    PLANS,
    REGIONS,
    SEGMENTS,
)

EVENT_COLUMNS = ("customer_id", "type", "occurred_at", "user", "feature", "count", "reason", "note", "renewal_date",
                 "arr")  # fmt: skip
EVENT_TYPES = ("login", "feature_use", "api_call", "churned", "renewed", "arr_changed")  # what a file may hold
# the columns of a type's data: which types may have each, and which must
_DATA_COLUMNS = {
    "user": ({"login"}, set()),
    "feature": ({"feature_use"}, set()),  # checked against the catalogue below
    "count": ({"api_call"}, set()),  # checked as a number below
    "reason": ({"churned"}, {"churned"}),
    "note": ({"churned"}, set()),
    "renewal_date": ({"renewed"}, {"renewed"}),
    "arr": ({"renewed", "arr_changed"}, {"arr_changed"}),
}
EVENT_REQUIRED = ("customer_id", "type", "occurred_at")
CUSTOMER_COLUMNS = ("name", "segment", "plan", "seats", "industry", "region", "owner", "external_id", "arr",
                    "renewal_date")  # fmt: skip
CUSTOMER_REQUIRED = ("name", "segment", "plan", "seats")
_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_AMOUNT = r"^\d{1,10}(\.\d{1,2})?$"
_DIGITS = r"^[1-9]\d{0,18}$"


class BadRow(ValueError):
    """A row of the file cannot be loaded: its line (1 is the header) and column."""

    def __init__(self, line: int, column: str, message: str) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column


def kind_of(header: Iterable[str]) -> str:
    """Tell from a header whether the file holds events or customers."""
    names = set(header)
    if "type" in names or "occurred_at" in names:
        return "events"
    return "customers"


def check_header(header: list[str], kind: str) -> None:
    """Refuse unknown, repeated or missing columns."""
    known, required = (EVENT_COLUMNS, EVENT_REQUIRED) if kind == "events" else (CUSTOMER_COLUMNS, CUSTOMER_REQUIRED)
    for name in header:
        if name not in known:
            raise BadRow(1, name, f"unknown column; the columns are {', '.join(known)}")
        if header.count(name) > 1:
            raise BadRow(1, name, "the column is given twice")
    for name in required:
        if name not in header:
            raise BadRow(1, name, "this column is required")


def check_events(chunk: pd.DataFrame, first_line: int, catalogue: set[str], now: dt.datetime | None = None) -> None:
    """Check a chunk of event rows (text columns, empty for a missing value); raise BadRow at the first bad one."""
    now = now or utc_now()
    _require(
        chunk, first_line, "customer_id", chunk["customer_id"].str.fullmatch(_DIGITS, na=False), "an id: 1 or more"
    )
    long = chunk["customer_id"].str.len().gt(18)  # only these may be beyond a bigint: the others are not looked at
    too_big = pd.Series(False, index=chunk.index)
    too_big[long] = ~chunk["customer_id"][long].map(_fits_bigint).astype(bool)
    _require(chunk, first_line, "customer_id", ~too_big, f"an id up to {MAX_ID}")
    _require(
        chunk,
        first_line,
        "type",
        chunk["type"].isin(EVENT_TYPES),
        ", ".join(EVENT_TYPES[:-1]) + f" or {EVENT_TYPES[-1]}",
    )
    shaped = chunk["occurred_at"].str.fullmatch(_TIMESTAMP, na=False)
    _require(chunk, first_line, "occurred_at", shaped, "a timestamp with its offset, such as 2026-11-01T12:00:00Z")
    when = pd.to_datetime(chunk["occurred_at"].str.upper(), utc=True, format="ISO8601", errors="coerce")
    earliest = pd.Timestamp(dt.datetime.combine(EARLIEST_DAY, dt.time(), UTC))
    inside = when.notna() & (when >= earliest) & (when <= pd.Timestamp(now + MAX_FUTURE))
    _require(
        chunk, first_line, "occurred_at", inside, f"a real moment from {EARLIEST_DAY} up to a few minutes from now"
    )
    kind = chunk["type"]
    for column, (allowed, required) in _DATA_COLUMNS.items():
        given = _column(chunk, column).ne("")
        if column in chunk:
            _require(chunk, first_line, column, ~given | kind.isin(sorted(allowed)), _only(allowed, column))
        missing = np.flatnonzero((kind.isin(sorted(required)) & ~given).to_numpy())
        if len(missing):
            row = int(missing[0])
            raise BadRow(
                first_line + row, column, f"{_a(kind.iloc[row])} {kind.iloc[row]} event needs {_a(column)} {column}"
            )
    if "user" in chunk:
        _require(chunk, first_line, "user", chunk["user"].str.len().le(MAX_USER_LENGTH), "at most 200 characters")
    feature = _column(chunk, "feature")
    uses = kind.eq("feature_use")
    known = feature.isin(sorted(catalogue)) & feature.str.fullmatch(FEATURE_KEY_PATTERN.strip("^$"), na=False)
    _require(chunk, first_line, "feature", ~uses | known, "a key of the feature catalogue")
    count = _column(chunk, "count")
    calls = kind.eq("api_call")
    digits = count.str.fullmatch(r"[1-9]\d{0,9}", na=False)
    number = pd.to_numeric(count.where(digits, "0"), errors="coerce").fillna(0)
    _require(chunk, first_line, "count", ~calls | (digits & number.le(MAX_API_CALLS)), f"1 to {MAX_API_CALLS:,}")
    if "reason" in chunk:
        reasons = ", ".join(CHURN_REASONS[:-1]) + f" or {CHURN_REASONS[-1]}"
        _require(chunk, first_line, "reason", chunk["reason"].isin(["", *CHURN_REASONS]), reasons)
    if "note" in chunk:
        note = chunk["note"]
        fits = note.str.len().le(MAX_NOTE_LENGTH) & ~note.str.contains("\x00", regex=False)
        _require(chunk, first_line, "note", fits, f"at most {MAX_NOTE_LENGTH:,} characters, without NUL")
    if "renewal_date" in chunk:
        _require(chunk, first_line, "renewal_date", _is_day(chunk["renewal_date"]), "a date such as 2027-03-31")
    if "arr" in chunk:
        _check_amount(chunk, first_line, "arr")


def outcome_data(row: dict[str, str]) -> dict[str, object]:
    """Return the data of a checked outcome row as an API body gives it to the recording (what is not given is left
    out)."""
    data: dict[str, object] = {}
    if row["type"] == "churned":
        data["reason"] = row["reason"]
        if row.get("note", "").strip():
            data["note"] = row["note"]
    if row["type"] == "renewed":
        data["renewal_date"] = dt.date.fromisoformat(row["renewal_date"])
    if row.get("arr"):
        data["arr"] = Decimal(row["arr"])
    return data


def check_customers(chunk: pd.DataFrame, first_line: int) -> None:
    """Check a chunk of customer rows; raise BadRow at the first bad one."""
    name = chunk["name"].str.strip()
    _require(chunk, first_line, "name", name.str.len().between(1, MAX_NAME_LENGTH), "1 to 200 visible characters")
    for column, words in (("segment", SEGMENTS), ("plan", PLANS)):
        _require(chunk, first_line, column, chunk[column].isin(list(words)), " or ".join(words))
    if "region" in chunk:
        _require(chunk, first_line, "region", chunk["region"].isin(["", *REGIONS]), " or ".join(REGIONS))
    seats = pd.to_numeric(chunk["seats"].where(chunk["seats"].str.fullmatch(r"\d{1,7}", na=False)), errors="coerce")
    _require(chunk, first_line, "seats", seats.between(1, MAX_SEATS), f"a whole number from 1 to {MAX_SEATS:,}")
    if "arr" in chunk:
        _check_amount(chunk, first_line, "arr")
    if "renewal_date" in chunk:
        _require(chunk, first_line, "renewal_date", _is_day(chunk["renewal_date"]), "a date such as 2027-03-31")
    if "external_id" in chunk:
        key = chunk["external_id"]
        shaped = key.eq("") | (key.str.fullmatch(EXTERNAL_ID_PATTERN.strip("^$"), na=False)
                               & key.str.len().le(MAX_EXTERNAL_ID_LENGTH))  # fmt: skip
        _require(chunk, first_line, "external_id", shaped, "1 to 200 printable characters without spaces")
        repeated = key.ne("") & key.duplicated(keep="first")
        _require(chunk, first_line, "external_id", ~repeated, "the same external_id is on an earlier line")


def _require(chunk: pd.DataFrame, first_line: int, column: str, ok: pd.Series, wanted: str) -> None:
    bad = np.flatnonzero(~ok.to_numpy(dtype=bool))
    if len(bad):
        row = int(bad[0])
        value = chunk[column].iloc[row]
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise BadRow(first_line + row, column, f"{shown!r} is not {wanted}")


def _column(chunk: pd.DataFrame, name: str) -> pd.Series:
    return chunk[name] if name in chunk else pd.Series("", index=chunk.index)


def _only(types: set[str], column: str) -> str:
    return f"empty: only {' and '.join(sorted(types))} events have {_a(column)} {column}"


def _a(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _is_day(given: pd.Series) -> pd.Series:
    """Empty, or a date in the years healthdash takes."""
    day = pd.to_datetime(given.where(given.str.fullmatch(_DATE, na=False)), format="%Y-%m-%d", errors="coerce")
    return given.eq("") | day.between(pd.Timestamp(EARLIEST_DAY), pd.Timestamp(LATEST_DAY))


def _check_amount(chunk: pd.DataFrame, first_line: int, column: str) -> None:
    given = chunk[column]
    shaped = given.eq("") | given.str.fullmatch(_AMOUNT, na=False)
    _require(chunk, first_line, column, shaped, "an amount, not negative, with at most two decimals")
    amount = pd.to_numeric(given.where(given.ne(""), "0"), errors="coerce")
    _require(chunk, first_line, column, amount.le(float(MAX_AMOUNT)), f"at most {MAX_AMOUNT}")


def _fits_bigint(text: str) -> bool:
    return bool(re.fullmatch(r"\d+", text)) and int(text) <= MAX_ID
