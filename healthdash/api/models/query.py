"""The query strings the API reads."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from healthdash.api.models.values import AsOf, Strict
from healthdash.vocabulary import MAX_NAME_LENGTH, Plan, Segment, Tier

MAX_PAGE = 500  # customers in a page of the list, events in a page of a customer's health
MAX_OFFSET = 10_000_000
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


class CustomerListQuery(Strict):
    tier: Tier | None = None
    segment: Segment | None = None
    plan: Plan | None = None
    q: Annotated[
        str | None,
        Field(max_length=MAX_NAME_LENGTH, pattern=r"^[^\u0000]*$", description="case-insensitive part of the name"),
        BeforeValidator(parse_search_text),
    ] = None
    sort: Literal["score", "name", "trend"] = "score"
    order: Literal["asc", "desc"] = "asc"
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE), Count] = 50
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET), Count] = 0
    as_of: AsOf = None


class HealthQuery(Strict):
    as_of: AsOf = None
    events_limit: Annotated[int, Field(ge=1, le=MAX_PAGE, description="events per page"), Count] = 20
    events_offset: Annotated[int, Field(ge=0, le=MAX_OFFSET), Count] = 0
