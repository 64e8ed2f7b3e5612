"""The query strings the API reads."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from healthdash.api.models.values import AsOf, Day, Strict
from healthdash.clock import as_of_day, utc_now
from healthdash.vocabulary import MAX_NAME_LENGTH, Plan, Segment, Tier

MAX_PAGE = 500  # customers in a page of the list, events in a page of a customer's health
MAX_OFFSET = 10_000_000
TIER_DAYS = 90  # the longest tier_fell_within: the days of tiers the server keeps in memory
MAX_RANGE_DAYS = 730  # days of history or changes one request may span
HISTORY_DAYS = 90  # the history's default range: the last 90 closed days
CHANGES_DAYS = 30  # the changes' default range: 30 days ago to today
_DIGITS = re.compile(r"0|[1-9][0-9]{0,17}")


def parse_count(value: object) -> object:
    """Read a count from a query string in its one written form: digits, no sign, decimals or leading zeros."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise PydanticCustomError(
            "int_parsing", "must be a whole number in digits (no sign, decimals or leading zeros)"
        )
    return value


def parse_search_text(value: object) -> object:
    """Refuse a search text holding NUL: no stored name holds one, so it could only match wrongly."""
    if isinstance(value, str) and "\x00" in value:
        raise PydanticCustomError("string_pattern_mismatch", "must not hold NUL (\\u0000)")
    return value


Count = BeforeValidator(parse_count)


class AsOfQuery(Strict):
    as_of: AsOf = None


StatusView = Annotated[
    Literal["active", "churned", "all"],
    Field(description="which customers: those still customers (default), those churned, or all"),
]


class DashboardQuery(AsOfQuery):
    status: StatusView = "active"
    scope: Annotated[
        Literal["everyone", "mine"],
        Field(description="`mine`: only the customers the caller owns (their owner is the caller's email or name)"),
    ] = "everyone"


class CustomerListQuery(Strict):
    tier: Tier | None = None
    segment: Segment | None = None
    plan: Plan | None = None
    status: StatusView = "active"
    q: Annotated[
        str | None,
        Field(max_length=MAX_NAME_LENGTH, pattern=r"^[^\u0000]*$", description="case-insensitive part of the name"),
        BeforeValidator(parse_search_text),
    ] = None
    sort: Annotated[
        Literal["score", "name", "trend", "change_7"],
        Field(description="`change_7`: the score now minus the score 7 days ago (for the current scores only)"),
    ] = "score"
    order: Literal["asc", "desc"] = "asc"
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE), Count] = 50
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET), Count] = 0
    owner: Annotated[
        Literal["me"] | None,
        Field(description="`me`: only the customers the caller owns (their owner is the caller's email or name)"),
    ] = None
    tier_fell_within: Annotated[
        int | None,
        Field(
            ge=1,
            le=TIER_DAYS,
            description="only customers in a lower tier now than on some day of the last N closed days "
            "(for the current scores only)",
        ),
        Count,
    ] = None
    as_of: AsOf = None

    @model_validator(mode="after")
    def _history_is_now(self) -> Self:
        if self.as_of is not None and (self.sort == "change_7" or self.tier_fell_within is not None):
            raise PydanticCustomError(
                "history_now", "sort=change_7 and tier_fell_within are for the current scores: leave out as_of"
            )
        return self


class AuditQuery(Strict):
    """A page of the audit log, newest first: one actor's (any case) and a time range, `since` included."""

    user: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=254,
            pattern=r"^[^\u0000]*$",
            description="an actor: a person's email or a token's name",
        ),
        BeforeValidator(parse_search_text),
    ] = None
    since: AsOf = None
    until: AsOf = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE), Count] = 100
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET), Count] = 0


class HealthQuery(Strict):
    as_of: AsOf = None
    events_limit: Annotated[int, Field(ge=1, le=MAX_PAGE, description="events per page"), Count] = 20
    events_offset: Annotated[int, Field(ge=0, le=MAX_OFFSET), Count] = 0


class DayRange(Strict):
    """A range of UTC days, both ends included; `from` after `to` or more than MAX_RANGE_DAYS days is refused."""

    from_: Annotated[Day, Field(alias="from", description="the first day")] = None
    to: Annotated[Day, Field(description="the last day")] = None

    def span(self, default_to: dt.date, default_days: int) -> tuple[dt.date, dt.date]:
        """Return the range with the defaults filled in: `to` default_to, `from` default_days before `to`."""
        last = self.to or default_to
        return self.from_ or last - dt.timedelta(days=default_days), last

    def check(self, default_to: dt.date, default_days: int) -> Self:
        first, last = self.span(default_to, default_days)
        if first > last:
            raise PydanticCustomError("range", f"from ({first}) is after to ({last})")
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise PydanticCustomError(
                "range", f"the range holds {(last - first).days + 1} days; at most {MAX_RANGE_DAYS}"
            )
        return self


class HistoryQuery(DayRange):
    """Default: the last HISTORY_DAYS closed days (yesterday back)."""

    @model_validator(mode="after")
    def _checked(self) -> Self:
        return self.check(*self.defaults())

    @staticmethod
    def defaults() -> tuple[dt.date, int]:
        return as_of_day(utc_now()) - dt.timedelta(days=1), HISTORY_DAYS - 1


class ChangesQuery(DayRange):
    """Default: from CHANGES_DAYS days ago to today."""

    @model_validator(mode="after")
    def _checked(self) -> Self:
        return self.check(*self.defaults())

    @staticmethod
    def defaults() -> tuple[dt.date, int]:
        return as_of_day(utc_now()), CHANGES_DAYS


BACKTEST_HORIZON = 90  # days after a day in which a churn counts against it
BACKTEST_LEAD = 30  # days ahead of a churn that a flag counts as warning in time
MAX_HORIZON = 365


class BacktestQuery(DayRange):
    """Default: the last 180 days of history whose horizon has passed entirely."""

    horizon: Annotated[
        int, Field(ge=1, le=MAX_HORIZON, description="days after a day in which a churn counts (default 90)"), Count
    ] = BACKTEST_HORIZON
    lead: Annotated[
        int,
        Field(ge=0, le=MAX_HORIZON, description="days ahead a flag must come to count as in time (default 30)"),
        Count,
    ] = BACKTEST_LEAD

    @model_validator(mode="after")
    def _checked(self) -> Self:
        if self.lead > self.horizon:
            raise PydanticCustomError("range", f"lead ({self.lead}) is longer than horizon ({self.horizon})")
        if self.from_ is not None and self.to is not None:
            return self.check(self.to, 0)
        return self
