"""The moment a score is computed for ("as of"), parsed from what users type."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

UTC = dt.UTC


class AsOfError(ValueError):
    """The as_of value is not an ISO date or timestamp."""


def utc_now() -> dt.datetime:
    """Return the current time in UTC."""
    return dt.datetime.now(UTC)


def resolve_as_of(value: str | dt.date | dt.datetime | None) -> dt.datetime:
    """Return an aware UTC timestamp for an as_of given as None (now), a date (its end), a timestamp or ISO text."""
    if value is None:
        return utc_now()
    if isinstance(value, str):
        value = _parse(value.strip())
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return dt.datetime.combine(value, dt.time(23, 59, 59), tzinfo=UTC)


def as_of_day(as_of: dt.datetime) -> dt.date:
    """Return the UTC calendar day that the scoring windows end with."""
    return as_of.astimezone(UTC).date()


def earliest(days: Iterable[dt.date | None]) -> dt.date | None:
    """Return the earliest of days from which data changed; None (any day) if one of them is None or none is given."""
    known: list[dt.date] = []
    for day in days:
        if day is None:
            return None
        known.append(day)
    return min(known, default=None)


def _parse(text: str) -> dt.date | dt.datetime:
    if not text:
        raise AsOfError("as_of is empty; give an ISO date (2026-11-01) or timestamp (2026-11-01T12:00:00Z)")
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise AsOfError(f"as_of {text!r} is not an ISO date (2026-11-01) or timestamp (2026-11-01T12:00:00Z)") from None
