"""The query strings the API reads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from healthdash.api.models.values import AsOf, Strict
from healthdash.vocabulary import MAX_NAME_LENGTH, Plan, Segment, Tier

MAX_PAGE = 500  # customers in a page of the list, events in a page of a customer's health
MAX_OFFSET = 10_000_000


class AsOfQuery(Strict):
    as_of: AsOf = None


class CustomerListQuery(Strict):
    tier: Tier | None = None
    segment: Segment | None = None
    plan: Plan | None = None
    q: Annotated[str | None, Field(max_length=MAX_NAME_LENGTH, description="case-insensitive part of the name")] = None
    sort: Literal["score", "name", "trend"] = "score"
    order: Literal["asc", "desc"] = "asc"
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 50
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0
    as_of: AsOf = None


class HealthQuery(Strict):
    as_of: AsOf = None
    events_limit: Annotated[int, Field(ge=1, le=MAX_PAGE, description="events per page")] = 20
    events_offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0
