"""Customers created and changed through the API: by healthdash's id, or by the CRM's id (what a nightly sync calls).

Each write is one transaction; the customer is rescored before COMMIT and shows in the dashboard and the list at
once, and every other instance hears of it through the database's notification.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from healthdash.api.handlers import ApiHandler, CustomerListHandler, _invalid, customer_id_from_path
from healthdash.api.models.customers import CustomerByExternalId, CustomerChange, NewCustomer
from healthdash.api.models.query import AsOfQuery
from healthdash.api.models.values import TEXT_PATTERN
from healthdash.api.problem import Problem, refused
from healthdash.recording import EventRejected
from healthdash.vocabulary import EXTERNAL_ID_PATTERN, MAX_EXTERNAL_ID_LENGTH

B = TypeVar("B", bound=BaseModel)


class CustomersHandler(CustomerListHandler):
    WRITES = frozenset({"POST"})

    async def post(self) -> None:
        """Create a customer."""
        fields = body_of(NewCustomer, self.json_body()).fields()
        try:
            profile = await self.api.write(self.api.service.create_customer, fields)
        except EventRejected as exc:
            raise refused(exc) from None
        mark_changed(self, profile)
        self.set_header("Location", f"/api/customers/{profile['id']}")
        self.send(profile, status=201)


class CustomerHandler(ApiHandler):
    WRITES = frozenset({"PATCH"})

    async def get(self, customer_id: str) -> None:
        """Get one customer's profile."""
        cid = customer_id_from_path(customer_id)
        self.query(AsOfQuery)
        profile = await self.api.read(self.api.service.customer_profile, cid)
        if profile is None:
            raise Problem(404, f"there is no customer with id {cid}")
        self.send(profile)

    async def patch(self, customer_id: str) -> None:
        """Change a customer's profile: the fields given."""
        body = self.json_body()
        cid = customer_id_from_path(customer_id)
        fields = body_of(CustomerChange, body).fields()
        try:
            profile = await self.api.write(self.api.service.update_customer, cid, fields)
        except EventRejected as exc:
            raise refused(exc) from None
        if profile is None:
            raise Problem(404, f"there is no customer with id {cid}")
        mark_changed(self, profile)
        self.send(profile)


class ExternalCustomerHandler(ApiHandler):
    WRITES = frozenset({"PUT"})

    async def get(self, external_id: str) -> None:
        """Get the customer with this CRM id."""
        key = external_id_from_path(external_id)
        self.query(AsOfQuery)
        profile = await self.api.read(self.api.service.customer_by_external_id, key)
        if profile is None:
            raise Problem(404, f"there is no customer with external_id {key!r}")
        self.send(profile)

    async def put(self, external_id: str) -> None:
        """Create or update the customer with this CRM id (the same body twice changes nothing the second time)."""
        body = self.json_body()
        key = external_id_from_path(external_id)
        fields = body_of(CustomerByExternalId, body).fields()
        try:
            profile, created, changed = await self.api.write(self.api.service.put_customer, key, fields)
        except EventRejected as exc:
            raise refused(exc) from None
        if changed:
            mark_changed(self, profile)
        if created:
            self.set_header("Location", f"/api/customers/{profile['id']}")
        self.send(profile, status=201 if created else 200)


def mark_changed(handler: ApiHandler, profile: dict[str, Any]) -> None:
    """Mark a written customer changed on the board, so that its profile (and its being new) reach every table."""
    handler.api.board.mark_changed([profile["id"]])


def body_of(model: type[B], body: Any) -> B:
    """Validate a JSON object against a body model; 422 naming each field at fault (unknown ones too)."""
    if not isinstance(body, dict):
        raise Problem(422, "the body must be a JSON object", errors=[{"field": "body", "message": "not an object"}])
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = [(".".join(str(p) for p in e["loc"]) or "body", _message(e)) for e in exc.errors(include_url=False)]
        raise _invalid("body", errors) from None


def external_id_from_path(text: str) -> str:
    """Return the CRM id from the path (as Tornado decoded it); 404 unless it could be one."""
    key = text
    if not 1 <= len(key) <= MAX_EXTERNAL_ID_LENGTH or not re.fullmatch(EXTERNAL_ID_PATTERN, key):
        raise Problem(404, f"there is no customer with external_id {key!r}: ids are 1 to 200 visible ASCII characters")
    return key


def _message(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == TEXT_PATTERN:
        return "must hold a visible character and no NUL (\\u0000)"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return str(error["msg"]).removeprefix("Value error, ")
