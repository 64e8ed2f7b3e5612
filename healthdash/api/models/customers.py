"""The bodies that create and change customers: a new customer, a change of profile, a customer by its CRM id."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from healthdash.api.models.values import (
    DATE_PATTERN,
    TEXT_PATTERN,
    Strict,
    parse_amount,
    parse_date,
    parse_whole_number,
)
from healthdash.vocabulary import (
    EXTERNAL_ID_PATTERN,
    MAX_AMOUNT,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SEATS,
    Plan,
    Region,
    Segment,
)

MAX_LABEL_LENGTH = 200  # an industry or an owner

Name = Annotated[
    str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=TEXT_PATTERN, description="the customer's name")
]
Seats = Annotated[int, Field(ge=1, le=MAX_SEATS, description="seats licensed"), BeforeValidator(parse_whole_number)]
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL_LENGTH, pattern=TEXT_PATTERN)]
ExternalId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_EXTERNAL_ID_LENGTH,
        pattern=EXTERNAL_ID_PATTERN,
        description="the customer's id in the CRM: printable ASCII without spaces, unique",
    ),
]
Arr = Annotated[
    Decimal,
    BeforeValidator(parse_amount),
    Field(ge=0, le=MAX_AMOUNT, max_digits=12, decimal_places=2),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "maximum": float(MAX_AMOUNT),
            "multipleOf": 0.01,
            "description": "annual recurring revenue, not negative, with at most two decimals",
        }
    ),
]
RenewalDate = Annotated[
    dt.date,
    BeforeValidator(parse_date),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": f"^{DATE_PATTERN}$",
            "description": "the day the contract renews",
        }
    ),
]


UNSET: Any = Field(default=None)  # a field left out; null is refused unless its type allows it


class _Profile(Strict):
    industry: Label = UNSET
    region: Region = UNSET
    owner: Annotated[Label | None, Field(description="who looks after the customer; null for nobody")] = None
    arr: Arr = UNSET
    renewal_date: Annotated[RenewalDate | None, Field(description="null when unknown")] = None

    @field_validator("name", check_fields=False)
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()

    def fields(self) -> dict[str, Any]:
        """Return the fields the body sets, as the database layer takes them."""
        return self.model_dump(exclude_unset=True)


class NewCustomer(_Profile):
    """A customer to create. Fields left out take their defaults: industry `other`, region `emea`, no owner, ARR 0,
    no renewal date, no external_id."""

    name: Name
    segment: Segment
    plan: Plan
    seats: Seats
    external_id: ExternalId | None = None


class CustomerByExternalId(_Profile):
    """A customer as the CRM knows it. Creating one needs name, segment, plan and seats; updating one changes the
    fields given and keeps the others. The same body twice changes nothing the second time."""

    name: Name = UNSET
    segment: Segment = UNSET
    plan: Plan = UNSET
    seats: Seats = UNSET


class CustomerChange(CustomerByExternalId):
    """Changes to a customer's profile: only the fields given change; `owner`, `renewal_date` and `external_id` may
    be null to clear them."""

    external_id: ExternalId | None = None

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _something(self) -> CustomerChange:
        if not self.model_fields_set:
            raise ValueError("the body changes nothing: give at least one field")
        return self
