"""The values the API reads: dates, timestamps, amounts, whole numbers, ids and stored text."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from healthdash.clock import UTC, resolve_as_of, utc_now
from healthdash.vocabulary import EARLIEST_DAY, LATEST_DAY, MAX_FUTURE, MAX_ID

# Dates and timestamps the API reads: from EARLIEST_DAY to LATEST_DAY (years 2000 to 2199), timestamps in RFC 3339
# with their UTC offset. The same patterns are in the OpenAPI document, so what the document calls valid is exactly
# what is accepted.
DATE_PATTERN = r"2[01][0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_OFFSET = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
TIMESTAMP_PATTERN = f"{DATE_PATTERN}[Tt]{_TIME}{_OFFSET}"
_DATE = re.compile(DATE_PATTERN)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)
_YEARS = f"in the years {EARLIEST_DAY.year} to {LATEST_DAY.year}"
# Text that is stored: no NUL (PostgreSQL text cannot hold it) and not blank. Whitespace is spelled out so that
# every regex engine (the validator's and the one a client generates from) reads the pattern alike.
_SPACE = r" \t\n\v\f\r\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
TEXT_PATTERN = rf"^[^\u0000]*[^\u0000{_SPACE}][^\u0000]*$"
EARLIEST = dt.datetime.combine(EARLIEST_DAY, dt.time(), UTC)
FUTURE_MINUTES = MAX_FUTURE // dt.timedelta(minutes=1)


def _timestamp(text: str) -> dt.datetime | None:
    if not _TIMESTAMP.fullmatch(text):
        return None
    try:
        return dt.datetime.fromisoformat(text.upper()).astimezone(UTC)
    except ValueError:
        return None


def _date(text: str) -> dt.date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_as_of(value: object) -> dt.datetime:
    """Read an as_of: a date (meaning the end of that day, UTC) or a timestamp with its offset."""
    if isinstance(value, dt.date):  # from Python code, such as the pages' client
        return resolve_as_of(value)
    if isinstance(value, str):
        day = _date(value)
        when = resolve_as_of(day) if day is not None else _timestamp(value)
        if when is not None:
            return when
    raise PydanticCustomError(
        "as_of",
        "as_of must be a date (2026-11-01, the end of that day) or a timestamp with its offset "
        f"(2026-11-01T12:00:00Z), {_YEARS}",
    )


def parse_occurred_at(value: object) -> dt.datetime:
    """Read when an event occurred: a timestamp with its offset, from EARLIEST up to MAX_FUTURE from now."""
    when = _timestamp(value) if isinstance(value, str) else None
    if when is None:
        raise PydanticCustomError(
            "timestamp", "occurred_at must be a timestamp with its offset (2026-11-01T12:00:00Z); omit it for now"
        )
    if when < EARLIEST:
        raise PydanticCustomError("too_early", f"occurred_at is before {EARLIEST_DAY.isoformat()}")
    if when > utc_now() + MAX_FUTURE:
        raise PydanticCustomError("in_future", f"occurred_at is more than {FUTURE_MINUTES} minutes in the future")
    return when


def parse_date(value: object) -> dt.date:
    """Read a calendar date (2026-11-01) from EARLIEST_DAY to LATEST_DAY."""
    day = _date(value) if isinstance(value, str) else None
    if day is None:
        raise PydanticCustomError("date", f"must be a date such as 2026-11-01, {_YEARS}")
    return day


def parse_amount(value: object) -> Decimal:
    """Read an amount of money: a JSON number with at most two decimals."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise PydanticCustomError("amount", "amount must be a number such as 1250.5")
    return Decimal(str(value))


def parse_whole_number(value: object) -> int:
    """Read a JSON integer: 12 or 12.0 (the same number in JSON), never a string or a boolean."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PydanticCustomError("int_type", "must be a whole number")


AS_OF_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "date", "pattern": f"^{DATE_PATTERN}$"},
        {"type": "string", "format": "date-time", "pattern": f"^{TIMESTAMP_PATTERN}$"},
    ],
    "description": "a date (2026-11-01, meaning the end of that day, UTC) or a timestamp with its offset "
    f"(2026-11-01T12:00:00Z), years {EARLIEST_DAY.year} to {LATEST_DAY.year}; default now",
    "examples": ["2026-11-01", "2026-11-01T12:00:00Z"],
}
AsOf = Annotated[
    dt.datetime | None,
    BeforeValidator(parse_as_of),
    PlainSerializer(lambda value: value.isoformat() if value else None),  # a query string again, as clients send it
    WithJsonSchema(AS_OF_SCHEMA),
]
OccurredAt = Annotated[
    dt.datetime | None,
    BeforeValidator(parse_occurred_at),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": f"^{TIMESTAMP_PATTERN}$",
            "description": f"when it happened, with its offset; default now; from {EARLIEST_DAY.isoformat()} up to "
            f"{FUTURE_MINUTES} minutes from now",
        }
    ),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(parse_whole_number)]
Day = Annotated[
    dt.date | None,
    BeforeValidator(parse_date),
    PlainSerializer(lambda value: value.isoformat() if value else None),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": f"^{DATE_PATTERN}$",
            "description": f"a UTC day (2026-11-01), years {EARLIEST_DAY.year} to {LATEST_DAY.year}",
        }
    ),
]


class Strict(BaseModel):
    """A request model that refuses unknown fields."""

    model_config = ConfigDict(extra="forbid")
